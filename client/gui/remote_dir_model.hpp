// RemoteDirModel: the remote directory as a table (name, size, modified, type), fed with
// the entries Session::listing delivers; plus the path arithmetic of the path bar and the
// Up button (plain strings, no FTP).
#pragma once

#include <QAbstractTableModel>
#include <QList>
#include <QString>

#include "session.hpp"

namespace ferry::gui {

class RemoteDirModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { name_column, size_column, modified_column, type_column, column_count };
  // The role the sort proxy uses: directories before files, then by the column's value.
  static constexpr int sort_role = Qt::UserRole + 1;

  explicit RemoteDirModel(QObject* parent = nullptr);

  void setEntries(const QString& path, const QList<RemoteEntry>& entries);
  void clear();
  const QString& path() const { return path_; }
  const RemoteEntry& entry(int row) const { return entries_.at(row); }
  // The row named `name`, or -1.
  int rowOf(const QString& name) const;

  int rowCount(const QModelIndex& parent = QModelIndex()) const override;
  int columnCount(const QModelIndex& parent = QModelIndex()) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  QString path_;
  QList<RemoteEntry> entries_;
};

// "/a/b" + "c" -> "/a/b/c"; "/" + "c" -> "/c".
QString joinRemotePath(const QString& directory, const QString& name);
// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "/".
QString parentRemotePath(const QString& path);
// A typed path made absolute and tidy: "a//b/" -> "/a/b", "/a/../b" -> "/b".
QString normalizeRemotePath(const QString& path);
// "1.5 MiB", "312 B".
QString formatBytes(quint64 bytes);

}  // namespace ferry::gui
