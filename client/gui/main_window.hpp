// MainWindow: the window after login — the local directory beside the remote one, the
// transfer list with progress and receipts, and the FTP message log. It holds no FTP state:
// it asks Session and shows what Session reports.
#pragma once

#include <QMainWindow>
#include <QString>
#include <QStringList>

class QAbstractItemView;
class QFileSystemModel;
class QKeyEvent;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;
class QTreeView;

namespace ferry::gui {

class ConnectDialog;
class RemoteDirModel;
class Session;
class TransferQueueModel;
struct RemoteEntry;
struct TransferResult;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Shows the connect screen, filled from `url` when it is not empty.
  void start(const QString& url = QString());
  void setLocalDirectory(const QString& path);
  QString localDirectory() const { return localDirectory_; }

  // Queue uploads of local files into the remote directory shown (directories are skipped).
  void uploadFiles(const QStringList& paths);
  // Queue downloads of the selected remote files into the local directory.
  void downloadSelected();

  Session* session() const { return session_; }
  ConnectDialog* connectDialog() const { return connectDialog_; }
  RemoteDirModel* remoteModel() const { return remoteModel_; }
  TransferQueueModel* transferModel() const { return transferModel_; }

 Q_SIGNALS:
  // The user closed the connect screen without connecting: the program should end.
  void quitRequested();

 protected:
  void closeEvent(QCloseEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void buildUi();
  void onConnected();
  void onListing(const QString& path, const QList<RemoteEntry>& entries, bool writable);
  void onBrowseFailed(const QString& reason);
  void onTransferFinished(int id, const TransferResult& result, const QString& remoteDirectory);
  void appendLog(const QString& line);
  void browse(const QString& path);
  void remoteActivated(const QModelIndex& index);
  bool keyInList(QAbstractItemView* view, QKeyEvent* key);
  void chooseLocalDirectory();
  void chooseUploadFiles();
  void uploadLocalSelection();
  void cancelSelectedTransfers();
  void disconnectFromServer();
  void updateActions();

  Session* session_;
  ConnectDialog* connectDialog_ = nullptr;
  RemoteDirModel* remoteModel_;
  QSortFilterProxyModel* remoteProxy_;
  TransferQueueModel* transferModel_;
  QFileSystemModel* localModel_;

  QLabel* site_ = nullptr;
  QLineEdit* localPath_ = nullptr;
  QTreeView* localView_ = nullptr;
  QLineEdit* remotePath_ = nullptr;
  QTableView* remoteView_ = nullptr;
  QTableView* transferView_ = nullptr;
  QPlainTextEdit* log_ = nullptr;
  QPushButton* up_ = nullptr;
  QPushButton* refresh_ = nullptr;
  QPushButton* download_ = nullptr;
  QPushButton* upload_ = nullptr;
  QPushButton* uploadLocal_ = nullptr;
  QPushButton* cancelTransfer_ = nullptr;
  QPushButton* disconnect_ = nullptr;

  QString localDirectory_;
  QString initialPath_;
  bool remoteWritable_ = false;
  bool closing_ = false;      // the user confirmed closing; waiting for transfers to end
  bool confirming_ = false;   // the close question is on screen
};

}  // namespace ferry::gui
