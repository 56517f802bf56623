// RemoteDirModel and the remote path helpers.
#include "remote_dir_model.hpp"

#include <QApplication>
#include <QDateTime>
#include <QIcon>
#include <QStyle>
#include <QStringList>

namespace ferry::gui {

RemoteDirModel::RemoteDirModel(QObject* parent) : QAbstractTableModel(parent) {}

void RemoteDirModel::setEntries(const QString& path, const QList<RemoteEntry>& entries) {
  beginResetModel();
  path_ = path;
  entries_ = entries;
  endResetModel();
}

void RemoteDirModel::clear() { setEntries(QString(), {}); }

int RemoteDirModel::rowOf(const QString& name) const {
  for (qsizetype i = 0; i < entries_.size(); ++i) {
    if (entries_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int RemoteDirModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(entries_.size());
}

int RemoteDirModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : column_count; }

QVariant RemoteDirModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= entries_.size()) return {};
  const RemoteEntry& e = entries_.at(index.row());
  const QString type = e.directory ? tr("Directory") : e.symlink ? tr("Link") : tr("File");
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case name_column:
        return e.name;
      case size_column:
        return e.directory ? QString() : formatBytes(e.size);
      case modified_column:
        return e.mtime == 0 ? QString()
                            : QDateTime::fromSecsSinceEpoch(e.mtime).toLocalTime().toString(
                                  QStringLiteral("yyyy-MM-dd HH:mm"));
      case type_column:
        return type;
      default:
        return {};
    }
  }
  if (role == sort_role) {
    // Directories first whatever the column, as file managers do.
    const QString group = e.directory ? QStringLiteral("0") : QStringLiteral("1");
    switch (index.column()) {
      case size_column:
        return group + QStringLiteral("%1").arg(e.size, 20, 10, QLatin1Char('0'));
      case modified_column:
        return group + QStringLiteral("%1").arg(e.mtime, 20, 10, QLatin1Char('0'));
      case type_column:
        return group + type + e.name.toLower();
      default:
        return group + e.name.toLower();
    }
  }
  if (role == Qt::DecorationRole && index.column() == name_column) {
    return QApplication::style()->standardIcon(e.directory ? QStyle::SP_DirIcon : QStyle::SP_FileIcon);
  }
  if (role == Qt::TextAlignmentRole && index.column() == size_column) {
    return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
  }
  if (role == Qt::ToolTipRole && index.column() == size_column && !e.directory) {
    return tr("%1 bytes").arg(e.size);
  }
  return {};
}

QVariant RemoteDirModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case name_column:
      return tr("Name");
    case size_column:
      return tr("Size");
    case modified_column:
      return tr("Modified");
    case type_column:
      return tr("Type");
    default:
      return {};
  }
}

QString joinRemotePath(const QString& directory, const QString& name) {
  if (directory.isEmpty() || directory == QLatin1String("/")) return QLatin1Char('/') + name;
  return directory.endsWith(QLatin1Char('/')) ? directory + name : directory + QLatin1Char('/') + name;
}

QString parentRemotePath(const QString& path) {
  const QString tidy = normalizeRemotePath(path);
  const qsizetype slash = tidy.lastIndexOf(QLatin1Char('/'));
  return slash <= 0 ? QStringLiteral("/") : tidy.left(slash);
}

QString normalizeRemotePath(const QString& path) {
  QStringList parts;
  for (const QString& part : path.split(QLatin1Char('/'), Qt::SkipEmptyParts)) {
    if (part == QLatin1String(".")) continue;
    if (part == QLatin1String("..")) {
      if (!parts.isEmpty()) parts.removeLast();
      continue;
    }
    parts.push_back(part);
  }
  return QLatin1Char('/') + parts.join(QLatin1Char('/'));
}

QString formatBytes(quint64 bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return QStringLiteral("%1 B").arg(bytes);
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  return QStringLiteral("%1 %2").arg(value, 0, 'f', 1).arg(QLatin1String(units[unit]));
}

}  // namespace ferry::gui
