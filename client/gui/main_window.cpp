// MainWindow: layout, wiring of Session's signals to the models and views, and the user's
// actions (browse, download, upload, cancel, disconnect, close during a transfer).
#include "main_window.hpp"

#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFileSystemModel>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStatusBar>
#include <QTableView>
#include <QTimer>
#include <QTreeView>
#include <QUrl>
#include <QVBoxLayout>

#include "connect_dialog.hpp"
#include "remote_dir_model.hpp"
#include "session.hpp"
#include "transfer_queue_model.hpp"
#include "url.hpp"

namespace ferry::gui {

namespace {

QLabel* heading(const QString& text, QWidget* parent) {
  auto* label = new QLabel(text, parent);
  QFont font = label->font();
  font.setBold(true);
  label->setFont(font);
  return label;
}

QStringList local_files(const QMimeData* mime) {
  QStringList files;
  if (mime == nullptr || !mime->hasUrls()) return files;
  for (const QUrl& url : mime->urls()) {
    if (url.isLocalFile() && QFileInfo(url.toLocalFile()).isFile()) files.push_back(url.toLocalFile());
  }
  return files;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      session_(new Session(this)),
      remoteModel_(new RemoteDirModel(this)),
      remoteProxy_(new QSortFilterProxyModel(this)),
      transferModel_(new TransferQueueModel(this)),
      localModel_(new QFileSystemModel(this)) {
  setObjectName(QStringLiteral("mainWindow"));
  setWindowTitle(tr("ferry"));
  buildUi();

  QObject::connect(session_, &Session::connected, this, &MainWindow::onConnected);
  QObject::connect(session_, &Session::listing, this, &MainWindow::onListing);
  QObject::connect(session_, &Session::browseFailed, this, &MainWindow::onBrowseFailed);
  QObject::connect(session_, &Session::transcript, this, &MainWindow::appendLog);
  QObject::connect(session_, &Session::transferQueued, transferModel_, &TransferQueueModel::add);
  QObject::connect(session_, &Session::transferStarted, transferModel_, &TransferQueueModel::start);
  QObject::connect(session_, &Session::transferProgress, transferModel_, &TransferQueueModel::progress);
  QObject::connect(session_, &Session::transferFinished, this, &MainWindow::onTransferFinished);
  QObject::connect(session_, &Session::allTransfersFinished, this, [this] {
    updateActions();
    if (closing_) close();
  });

  setLocalDirectory(QDir::currentPath());
  updateActions();
}

MainWindow::~MainWindow() = default;

void MainWindow::buildUi() {
  // The top line: who we are connected to.
  site_ = new QLabel(this);
  site_->setObjectName(QStringLiteral("site"));
  disconnect_ = new QPushButton(tr("&Disconnect"), this);
  disconnect_->setObjectName(QStringLiteral("disconnect"));
  auto* top = new QHBoxLayout;
  top->addWidget(site_, 1);
  top->addWidget(disconnect_);

  // Local pane.
  auto* local = new QWidget(this);
  localPath_ = new QLineEdit(local);
  localPath_->setObjectName(QStringLiteral("localPath"));
  localPath_->setReadOnly(true);
  auto* chooseLocal = new QPushButton(tr("C&hange…"), local);
  chooseLocal->setObjectName(QStringLiteral("chooseLocal"));
  localView_ = new QTreeView(local);
  localView_->setObjectName(QStringLiteral("localView"));
  localModel_->setFilter(QDir::AllEntries | QDir::NoDotAndDotDot);
  localView_->setModel(localModel_);
  localView_->setRootIsDecorated(false);
  localView_->setItemsExpandable(false);
  localView_->setSortingEnabled(true);
  localView_->sortByColumn(0, Qt::AscendingOrder);
  localView_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  localView_->setDragEnabled(true);
  localView_->setToolTip(tr("Enter: open a directory, upload a file; Backspace: up"));
  localView_->header()->setSectionResizeMode(0, QHeaderView::Stretch);
  localView_->header()->setStretchLastSection(false);
  uploadLocal_ = new QPushButton(tr("U&pload selected →"), local);
  uploadLocal_->setObjectName(QStringLiteral("uploadSelected"));
  auto* localBar = new QHBoxLayout;
  localBar->addWidget(localPath_, 1);
  localBar->addWidget(chooseLocal);
  auto* localLayout = new QVBoxLayout(local);
  localLayout->setContentsMargins(0, 0, 0, 0);
  localLayout->addWidget(heading(tr("Local directory"), local));
  localLayout->addLayout(localBar);
  localLayout->addWidget(localView_, 1);
  localLayout->addWidget(uploadLocal_, 0, Qt::AlignLeft);

  // Remote pane.
  auto* remote = new QWidget(this);
  up_ = new QPushButton(tr("&Up"), remote);
  up_->setObjectName(QStringLiteral("up"));
  up_->setIcon(style()->standardIcon(QStyle::SP_FileDialogToParent));
  remotePath_ = new QLineEdit(remote);
  remotePath_->setObjectName(QStringLiteral("remotePath"));
  refresh_ = new QPushButton(tr("&Refresh"), remote);
  refresh_->setObjectName(QStringLiteral("refresh"));
  remoteProxy_->setSourceModel(remoteModel_);
  remoteProxy_->setSortRole(RemoteDirModel::sort_role);
  remoteView_ = new QTableView(remote);
  remoteView_->setObjectName(QStringLiteral("remoteView"));
  remoteView_->setModel(remoteProxy_);
  remoteView_->setSortingEnabled(true);
  remoteView_->sortByColumn(RemoteDirModel::name_column, Qt::AscendingOrder);
  remoteView_->setSelectionBehavior(QAbstractItemView::SelectRows);
  remoteView_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  remoteView_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  remoteView_->setShowGrid(false);
  remoteView_->verticalHeader()->hide();
  remoteView_->setWordWrap(false);
  remoteView_->horizontalHeader()->setSectionResizeMode(RemoteDirModel::name_column, QHeaderView::Stretch);
  remoteView_->setAcceptDrops(true);
  remoteView_->viewport()->setAcceptDrops(true);
  remoteView_->viewport()->installEventFilter(this);
  remoteView_->setToolTip(tr("Double-click or Enter: open a directory, download a file; Backspace: up; "
                             "drop files here to upload"));
  download_ = new QPushButton(tr("← Do&wnload"), remote);
  download_->setObjectName(QStringLiteral("download"));
  upload_ = new QPushButton(tr("Upload &files…"), remote);
  upload_->setObjectName(QStringLiteral("upload"));
  auto* remoteBar = new QHBoxLayout;
  remoteBar->addWidget(up_);
  remoteBar->addWidget(remotePath_, 1);
  remoteBar->addWidget(refresh_);
  auto* remoteButtons = new QHBoxLayout;
  remoteButtons->addWidget(download_);
  remoteButtons->addWidget(upload_);
  remoteButtons->addStretch(1);
  auto* remoteLayout = new QVBoxLayout(remote);
  remoteLayout->setContentsMargins(0, 0, 0, 0);
  remoteLayout->addWidget(heading(tr("Remote directory"), remote));
  remoteLayout->addLayout(remoteBar);
  remoteLayout->addWidget(remoteView_, 1);
  remoteLayout->addLayout(remoteButtons);

  auto* panes = new QSplitter(Qt::Horizontal, this);
  panes->addWidget(local);
  panes->addWidget(remote);
  panes->setStretchFactor(0, 1);
  panes->setStretchFactor(1, 1);

  // Transfers.
  auto* transfers = new QWidget(this);
  transferView_ = new QTableView(transfers);
  transferView_->setObjectName(QStringLiteral("transfers"));
  transferView_->setModel(transferModel_);
  transferView_->setItemDelegateForColumn(TransferQueueModel::progress_column, new ProgressDelegate(transferView_));
  transferView_->setSelectionBehavior(QAbstractItemView::SelectRows);
  transferView_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  transferView_->setShowGrid(false);
  transferView_->verticalHeader()->hide();
  transferView_->setWordWrap(false);
  transferView_->horizontalHeader()->setSectionResizeMode(TransferQueueModel::result_column, QHeaderView::Stretch);
  transferView_->setColumnWidth(TransferQueueModel::file_column, 150);
  transferView_->setColumnWidth(TransferQueueModel::progress_column, 190);
  cancelTransfer_ = new QPushButton(tr("&Cancel transfer"), transfers);
  cancelTransfer_->setObjectName(QStringLiteral("cancelTransfer"));
  auto* clearFinished = new QPushButton(tr("C&lear finished"), transfers);
  clearFinished->setObjectName(QStringLiteral("clearFinished"));
  auto* transferButtons = new QHBoxLayout;
  transferButtons->addWidget(heading(tr("Transfers"), transfers));
  transferButtons->addStretch(1);
  transferButtons->addWidget(cancelTransfer_);
  transferButtons->addWidget(clearFinished);
  auto* transferLayout = new QVBoxLayout(transfers);
  transferLayout->setContentsMargins(0, 0, 0, 0);
  transferLayout->addLayout(transferButtons);
  transferLayout->addWidget(transferView_, 1);

  // The message log.
  log_ = new QPlainTextEdit(this);
  log_->setObjectName(QStringLiteral("log"));
  log_->setReadOnly(true);
  log_->setMaximumBlockCount(5000);
  log_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));

  auto* rows = new QSplitter(Qt::Vertical, this);
  rows->addWidget(panes);
  rows->addWidget(transfers);
  rows->addWidget(log_);
  rows->setStretchFactor(0, 3);
  rows->setStretchFactor(1, 1);
  rows->setStretchFactor(2, 1);

  auto* central = new QWidget(this);
  auto* layout = new QVBoxLayout(central);
  layout->addLayout(top);
  layout->addWidget(rows, 1);
  setCentralWidget(central);
  resize(1100, 760);

  // Enter and Backspace in the lists (keyInList); once every widget eventFilter looks at exists.
  localView_->installEventFilter(this);
  remoteView_->installEventFilter(this);
  QObject::connect(disconnect_, &QPushButton::clicked, this, &MainWindow::disconnectFromServer);
  QObject::connect(chooseLocal, &QPushButton::clicked, this, &MainWindow::chooseLocalDirectory);
  QObject::connect(uploadLocal_, &QPushButton::clicked, this, &MainWindow::uploadLocalSelection);
  QObject::connect(up_, &QPushButton::clicked, this, [this] { browse(parentRemotePath(remoteModel_->path())); });
  QObject::connect(refresh_, &QPushButton::clicked, this, [this] { browse(remoteModel_->path()); });
  QObject::connect(remotePath_, &QLineEdit::returnPressed, this, [this] { browse(remotePath_->text()); });
  QObject::connect(remoteView_, &QTableView::doubleClicked, this, &MainWindow::remoteActivated);
  QObject::connect(download_, &QPushButton::clicked, this, &MainWindow::downloadSelected);
  QObject::connect(upload_, &QPushButton::clicked, this, &MainWindow::chooseUploadFiles);
  QObject::connect(cancelTransfer_, &QPushButton::clicked, this, &MainWindow::cancelSelectedTransfers);
  QObject::connect(clearFinished, &QPushButton::clicked, transferModel_, &TransferQueueModel::clearFinished);
  QObject::connect(remoteView_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
                   &MainWindow::updateActions);
  QObject::connect(localView_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
                   &MainWindow::updateActions);
  QObject::connect(transferView_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
                   &MainWindow::updateActions);
  QObject::connect(transferModel_, &QAbstractItemModel::dataChanged, this, &MainWindow::updateActions);
  QObject::connect(transferModel_, &QAbstractItemModel::rowsInserted, this, &MainWindow::updateActions);
}

void MainWindow::start(const QString& url) {
  if (connectDialog_ == nullptr) {
    connectDialog_ = new ConnectDialog(session_, this);
    QObject::connect(connectDialog_, &QDialog::accepted, this, [this] {
      initialPath_ = connectDialog_->initialPath();
    });
    QObject::connect(connectDialog_, &QDialog::rejected, this, [this] {
      if (!session_->isOpen()) {
        hide();
        Q_EMIT quitRequested();
      }
    });
  }
  if (!url.isEmpty()) connectDialog_->fillFromUrl(url);
  connectDialog_->show();
  connectDialog_->raise();
  connectDialog_->activateWindow();
}

void MainWindow::setLocalDirectory(const QString& path) {
  localDirectory_ = QDir(path).absolutePath();
  localPath_->setText(QDir::toNativeSeparators(localDirectory_));
  localView_->setRootIndex(localModel_->setRootPath(localDirectory_));
}

void MainWindow::onConnected() {
  const ServerAddress& address = session_->address();
  const QString who = QStringLiteral("%1@%2:%3").arg(address.user, address.host).arg(address.port);
  site_->setText(tr("Connected to %1").arg(who));
  setWindowTitle(tr("ferry — %1").arg(who));
  show();
  raise();
  activateWindow();
  statusBar()->showMessage(tr("Logged in as %1").arg(address.user));
  // The URL's path is under the login directory (RFC 1738, as the ferry command reads it).
  const QString asked = connectDialog_ ? connectDialog_->initialPath() : QString();
  initialPath_ = QString::fromStdString(
      client::resolve_url_path(session_->loginDirectory().toStdString(), asked.isEmpty() ? "/" : asked.toStdString()));
  browse(initialPath_);
  updateActions();
}

void MainWindow::browse(const QString& path) {
  if (!session_->isOpen()) return;
  const QString tidy = normalizeRemotePath(path);
  statusBar()->showMessage(tr("Listing %1…").arg(tidy));
  session_->list(tidy);
}

void MainWindow::onListing(const QString& path, const QList<RemoteEntry>& entries, bool writable) {
  remoteModel_->setEntries(path, entries);
  remotePath_->setText(path);
  remoteView_->resizeColumnToContents(RemoteDirModel::size_column);
  remoteView_->resizeColumnToContents(RemoteDirModel::modified_column);
  remoteWritable_ = writable;
  statusBar()->showMessage(
      tr("%1: %n entries%2", nullptr, static_cast<int>(entries.size()))
          .arg(path, writable ? QString() : tr(" (read-only: no uploads here)")));
  updateActions();
}

void MainWindow::onBrowseFailed(const QString& reason) {
  statusBar()->showMessage(reason);
  // The URL's path may name a file or a missing directory: fall back to the login
  // directory once.
  if (remoteModel_->path().isEmpty() && initialPath_ != session_->loginDirectory()) {
    initialPath_ = session_->loginDirectory();
    browse(initialPath_);
    return;
  }
  remotePath_->setText(remoteModel_->path());
}

void MainWindow::remoteActivated(const QModelIndex& proxyIndex) {
  const QModelIndex index = remoteProxy_->mapToSource(proxyIndex);
  if (!index.isValid()) return;
  const RemoteEntry& entry = remoteModel_->entry(index.row());
  if (entry.directory) {
    browse(joinRemotePath(remoteModel_->path(), entry.name));
  } else {
    session_->download(joinRemotePath(remoteModel_->path(), entry.name), entry.size, localDirectory_);
  }
}

void MainWindow::downloadSelected() {
  if (!session_->isOpen()) return;
  const QModelIndexList rows = remoteView_->selectionModel()->selectedRows();
  for (const QModelIndex& proxyIndex : rows) {
    const QModelIndex index = remoteProxy_->mapToSource(proxyIndex);
    const RemoteEntry& entry = remoteModel_->entry(index.row());
    if (entry.directory) continue;
    session_->download(joinRemotePath(remoteModel_->path(), entry.name), entry.size, localDirectory_);
  }
}

void MainWindow::uploadFiles(const QStringList& paths) {
  if (!session_->isOpen()) return;
  if (!remoteWritable_) {
    statusBar()->showMessage(tr("permission denied: %1 is read-only").arg(remoteModel_->path()));
    appendLog(tr("Error: permission denied: %1 is read-only on this server").arg(remoteModel_->path()));
    return;
  }
  for (const QString& path : paths) {
    if (QFileInfo(path).isFile()) session_->upload(path, remoteModel_->path());
  }
}

void MainWindow::chooseUploadFiles() {
  const QStringList files = QFileDialog::getOpenFileNames(this, tr("Upload files"), localDirectory_);
  uploadFiles(files);
}

void MainWindow::uploadLocalSelection() {
  QStringList files;
  for (const QModelIndex& index : localView_->selectionModel()->selectedRows()) files.push_back(localModel_->filePath(index));
  uploadFiles(files);
}

void MainWindow::chooseLocalDirectory() {
  const QString directory = QFileDialog::getExistingDirectory(this, tr("Local directory"), localDirectory_);
  if (!directory.isEmpty()) setLocalDirectory(directory);
}

void MainWindow::cancelSelectedTransfers() {
  for (const QModelIndex& index : transferView_->selectionModel()->selectedRows()) {
    const auto& row = transferModel_->row(index.row());
    if (!isFinished(row.state)) session_->cancelTransfer(row.id);
  }
}

void MainWindow::onTransferFinished(int id, const TransferResult& result, const QString& remoteDirectory) {
  transferModel_->finish(id, result);
  const int index = transferModel_->rowOfId(id);
  const QString name = index >= 0 ? transferModel_->row(index).name : QString();
  statusBar()->showMessage(QStringLiteral("%1: %2").arg(name, result.text));
  if (result.state == TransferState::verified || result.state == TransferState::unverified) {
    appendLog(tr("Status: %1: %2").arg(name, result.text));
    if (!remoteDirectory.isEmpty() && remoteDirectory == remoteModel_->path()) browse(remoteDirectory);
  }
  updateActions();
}

void MainWindow::appendLog(const QString& line) {
  if (line.contains(QLatin1String("Error: "))) {
    log_->appendHtml(QStringLiteral("<span style=\"color:#b02020\">%1</span>").arg(line.toHtmlEscaped()));
  } else {
    log_->appendPlainText(line);
  }
}

void MainWindow::disconnectFromServer() {
  if (session_->activeTransfers() > 0) {
    const auto answer = QMessageBox::question(
        this, tr("Disconnect"), tr("%n transfer(s) are still running. Cancel them and disconnect?", nullptr,
                                   session_->activeTransfers()));
    if (answer != QMessageBox::Yes) return;
  }
  session_->close();
  remoteModel_->clear();
  remotePath_->clear();
  site_->setText(tr("Not connected"));
  appendLog(tr("Status: disconnected"));
  updateActions();
  start();
}

void MainWindow::updateActions() {
  const bool open = session_->isOpen();
  up_->setEnabled(open && remoteModel_->path() != QLatin1String("/") && !remoteModel_->path().isEmpty());
  refresh_->setEnabled(open);
  remotePath_->setEnabled(open);
  disconnect_->setEnabled(open);
  bool fileSelected = false;
  for (const QModelIndex& proxyIndex : remoteView_->selectionModel()->selectedRows()) {
    const QModelIndex index = remoteProxy_->mapToSource(proxyIndex);
    if (index.isValid() && !remoteModel_->entry(index.row()).directory) fileSelected = true;
  }
  download_->setEnabled(open && fileSelected);
  upload_->setEnabled(open && remoteWritable_);
  upload_->setToolTip(remoteWritable_ ? tr("Upload local files into this remote directory")
                                      : tr("This remote directory is read-only"));
  uploadLocal_->setEnabled(open && remoteWritable_ && localView_->selectionModel()->hasSelection());
  bool cancellable = false;
  for (const QModelIndex& index : transferView_->selectionModel()->selectedRows()) {
    if (!isFinished(transferModel_->row(index.row()).state)) cancellable = true;
  }
  cancelTransfer_->setEnabled(cancellable);
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event) {
  if ((watched == remoteView_ || watched == localView_) && event->type() == QEvent::KeyPress) {
    return keyInList(static_cast<QAbstractItemView*>(watched), static_cast<QKeyEvent*>(event));
  }
  if (watched == remoteView_->viewport()) {
    if (event->type() == QEvent::DragEnter || event->type() == QEvent::DragMove) {
      auto* drag = static_cast<QDragMoveEvent*>(event);
      if (session_->isOpen() && remoteWritable_ && !local_files(drag->mimeData()).isEmpty()) {
        drag->setDropAction(Qt::CopyAction);
        drag->accept();
      } else {
        drag->ignore();
      }
      return true;
    }
    if (event->type() == QEvent::Drop) {
      auto* drop = static_cast<QDropEvent*>(event);
      const QStringList files = local_files(drop->mimeData());
      if (files.isEmpty()) return false;
      drop->setDropAction(Qt::CopyAction);
      drop->accept();
      uploadFiles(files);
      return true;
    }
  }
  return QMainWindow::eventFilter(watched, event);
}

// The lists answer the keyboard as FileZilla's do: Enter on a directory opens it, on a
// file transfers it (a remote one down, a local one up where uploads are allowed), as
// double-click does; Backspace goes up. Other keys keep the view's own meaning.
bool MainWindow::keyInList(QAbstractItemView* view, QKeyEvent* key) {
  const bool enter = key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter;
  if (key->key() == Qt::Key_Backspace) {
    if (view == remoteView_) {
      if (session_->isOpen() && !remoteModel_->path().isEmpty()) browse(parentRemotePath(remoteModel_->path()));
    } else {
      setLocalDirectory(QFileInfo(localDirectory_).dir().absolutePath());
    }
    return true;
  }
  if (!enter) return false;
  const QModelIndex current = view->currentIndex();
  if (view == remoteView_) {
    const bool several = remoteView_->selectionModel()->selectedRows().size() > 1;
    if (several) {
      downloadSelected();
    } else if (current.isValid()) {
      remoteActivated(current);
    }
    return true;
  }
  if (current.isValid() && localModel_->isDir(current) && localView_->selectionModel()->selectedRows().size() <= 1) {
    setLocalDirectory(localModel_->filePath(current));
  } else {
    uploadLocalSelection();  // says why when this directory is read-only
  }
  return true;
}

void MainWindow::closeEvent(QCloseEvent* event) {
  const int running = session_->activeTransfers();
  if (running == 0) {
    session_->close();
    event->accept();
    return;
  }
  event->ignore();
  if (closing_ || confirming_) return;
  confirming_ = true;
  auto* box = new QMessageBox(QMessageBox::Question, tr("Transfers running"),
                              tr("%n transfer(s) are still running. Cancel them and quit?", nullptr, running),
                              QMessageBox::Yes | QMessageBox::No, this);
  box->setObjectName(QStringLiteral("confirmClose"));
  box->setDefaultButton(QMessageBox::No);
  box->setAttribute(Qt::WA_DeleteOnClose);
  QObject::connect(box, &QMessageBox::finished, this, [this, box](int) {
    confirming_ = false;
    if (box->clickedButton() != box->button(QMessageBox::Yes)) return;
    closing_ = true;
    statusBar()->showMessage(tr("Cancelling transfers…"));
    session_->cancelAllTransfers();
    if (session_->activeTransfers() == 0) close();
  });
  box->open();
}

}  // namespace ferry::gui
