// TransferQueueModel, its result marks, and the progress bar delegate.
#include "transfer_queue_model.hpp"

#include <QApplication>
#include <QColor>
#include <QIcon>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>
#include <QStyleOptionProgressBar>
#include <cmath>

#include "remote_dir_model.hpp"

namespace ferry::gui {

namespace {

// A round mark: a green check for a verified transfer, a red cross for a failure.
QIcon mark(bool good) {
  QPixmap pixmap(32, 32);
  pixmap.fill(Qt::transparent);
  QPainter painter(&pixmap);
  painter.setRenderHint(QPainter::Antialiasing);
  painter.setPen(Qt::NoPen);
  painter.setBrush(good ? QColor(0x2e, 0x9e, 0x44) : QColor(0xd0, 0x31, 0x2d));
  painter.drawEllipse(1, 1, 30, 30);
  QPen pen(Qt::white, 4, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin);
  painter.setPen(pen);
  if (good) {
    QPainterPath check;
    check.moveTo(9, 17);
    check.lineTo(14, 22);
    check.lineTo(23, 11);
    painter.drawPath(check);
  } else {
    painter.drawLine(11, 11, 21, 21);
    painter.drawLine(21, 11, 11, 21);
  }
  return QIcon(pixmap);
}

QString duration_text(double seconds) {
  const auto total = static_cast<qint64>(std::ceil(seconds));
  if (total >= 3600) return QStringLiteral("%1:%2:%3").arg(total / 3600).arg(total / 60 % 60, 2, 10, QLatin1Char('0')).arg(total % 60, 2, 10, QLatin1Char('0'));
  return QStringLiteral("%1:%2").arg(total / 60).arg(total % 60, 2, 10, QLatin1Char('0'));
}

}  // namespace

bool isFinished(TransferState state) {
  return state != TransferState::queued && state != TransferState::running;
}

TransferQueueModel::TransferQueueModel(QObject* parent) : QAbstractTableModel(parent) {}

void TransferQueueModel::add(int id, const QString& name, bool upload, quint64 total) {
  const int index = static_cast<int>(rows_.size());
  beginInsertRows(QModelIndex(), index, index);
  Row row;
  row.id = id;
  row.name = name;
  row.upload = upload;
  row.total = total;
  rows_.push_back(row);
  endInsertRows();
}

void TransferQueueModel::start(int id) {
  const int index = rowOfId(id);
  if (index < 0 || isFinished(rows_[index].state)) return;
  rows_[index].state = TransferState::running;
  changed(index);
}

void TransferQueueModel::progress(int id, quint64 done, quint64 total, double rate) {
  const int index = rowOfId(id);
  if (index < 0 || isFinished(rows_[index].state)) return;
  Row& row = rows_[index];
  row.state = TransferState::running;
  row.done = done;
  if (total > 0) row.total = total;
  row.rate = rate;
  changed(index);
}

void TransferQueueModel::finish(int id, const TransferResult& result) {
  const int index = rowOfId(id);
  if (index < 0) return;
  Row& row = rows_[index];
  row.state = result.state;
  row.result = result.text;
  row.rate = 0;
  if (result.state == TransferState::verified || result.state == TransferState::unverified) {
    row.done = result.size;
    row.total = result.size;
  }
  changed(index);
}

void TransferQueueModel::clearFinished() {
  for (int i = static_cast<int>(rows_.size()) - 1; i >= 0; --i) {
    if (!isFinished(rows_[i].state)) continue;
    beginRemoveRows(QModelIndex(), i, i);
    rows_.removeAt(i);
    endRemoveRows();
  }
}

int TransferQueueModel::rowOfId(int id) const {
  for (qsizetype i = 0; i < rows_.size(); ++i) {
    if (rows_[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

void TransferQueueModel::changed(int index) {
  Q_EMIT dataChanged(this->index(index, 0), this->index(index, column_count - 1));
}

int TransferQueueModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int TransferQueueModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : column_count; }

QVariant TransferQueueModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rows_.size()) return {};
  const Row& row = rows_.at(index.row());
  if (role == state_role) return static_cast<int>(row.state);
  if (role == fraction_role) {
    if (row.total == 0) return isFinished(row.state) && row.state != TransferState::failed ? 1.0 : -1.0;
    return static_cast<double>(row.done) / static_cast<double>(row.total);
  }
  const bool active = row.state == TransferState::running;
  if (role == Qt::DisplayRole || role == Qt::ToolTipRole) {
    switch (index.column()) {
      case file_column:
        return row.name;
      case direction_column:
        return row.upload ? tr("Upload") : tr("Download");
      case progress_column:
        if (row.total == 0) return formatBytes(row.done);
        return tr("%1 of %2").arg(formatBytes(row.done), formatBytes(row.total));
      case rate_column:
        return active && row.rate > 0 ? tr("%1/s").arg(formatBytes(static_cast<quint64>(row.rate))) : QString();
      case eta_column:
        if (!active || row.rate <= 0 || row.total <= row.done) return QString();
        return duration_text(static_cast<double>(row.total - row.done) / row.rate);
      case result_column:
        switch (row.state) {
          case TransferState::queued:
            return tr("Queued");
          case TransferState::running:
            return tr("Transferring…");
          default:
            return row.result;
        }
      default:
        return {};
    }
  }
  if (role == Qt::DecorationRole && index.column() == result_column) {
    static const QIcon good = mark(true);
    static const QIcon bad = mark(false);
    if (row.state == TransferState::verified) return good;
    if (row.state == TransferState::failed || row.state == TransferState::cancelled) return bad;
  }
  if (role == Qt::ForegroundRole && index.column() == result_column) {
    if (row.state == TransferState::verified) return QColor(0x1e, 0x7e, 0x34);
    if (row.state == TransferState::failed) return QColor(0xb0, 0x20, 0x20);
  }
  return {};
}

QVariant TransferQueueModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case file_column:
      return tr("File");
    case direction_column:
      return tr("Direction");
    case progress_column:
      return tr("Progress");
    case rate_column:
      return tr("Rate");
    case eta_column:
      return tr("Time left");
    case result_column:
      return tr("Result");
    default:
      return {};
  }
}

void ProgressDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const {
  const double fraction = index.data(TransferQueueModel::fraction_role).toDouble();
  QStyleOptionProgressBar bar;
  bar.rect = option.rect.adjusted(2, 2, -2, -2);
  bar.minimum = 0;
  bar.maximum = fraction < 0 ? 0 : 1000;  // 0..0 draws a busy bar when the size is unknown
  bar.progress = fraction < 0 ? 0 : static_cast<int>(fraction * 1000.0);
  bar.text = index.data(Qt::DisplayRole).toString();
  bar.textVisible = true;
  bar.textAlignment = Qt::AlignCenter;
  bar.state = option.state | QStyle::State_Horizontal;
  QApplication::style()->drawControl(QStyle::CE_ProgressBar, &bar, painter);
}

}  // namespace ferry::gui
