// TransferQueueModel: one row per transfer (file, direction, progress, rate, time left,
// result), fed by Session's transfer signals; ProgressDelegate draws the progress column
// as a bar with the byte counts on it.
#pragma once

#include <QAbstractTableModel>
#include <QList>
#include <QStyledItemDelegate>

#include "session.hpp"

namespace ferry::gui {

class TransferQueueModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { file_column, direction_column, progress_column, rate_column, eta_column, result_column, column_count };
  static constexpr int state_role = Qt::UserRole + 1;    // TransferState as int
  static constexpr int fraction_role = Qt::UserRole + 2;  // 0..1, or -1 when unknown

  struct Row {
    int id = 0;
    QString name;
    bool upload = false;
    quint64 done = 0;
    quint64 total = 0;
    double rate = 0;
    TransferState state = TransferState::queued;
    QString result;
  };

  explicit TransferQueueModel(QObject* parent = nullptr);

  // Rows are added and updated from Session's signals.
  void add(int id, const QString& name, bool upload, quint64 total);
  void start(int id);
  void progress(int id, quint64 done, quint64 total, double rate);
  void finish(int id, const TransferResult& result);
  // Removes the rows of finished transfers.
  void clearFinished();

  int rowOfId(int id) const;
  const Row& row(int index) const { return rows_.at(index); }

  int rowCount(const QModelIndex& parent = QModelIndex()) const override;
  int columnCount(const QModelIndex& parent = QModelIndex()) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  void changed(int index);
  QList<Row> rows_;
};

bool isFinished(TransferState state);

class ProgressDelegate : public QStyledItemDelegate {
  Q_OBJECT

 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

}  // namespace ferry::gui
