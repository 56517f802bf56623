// ferry-gui end to end: the real widgets (offscreen), typed into and clicked like a user
// would, against a real ferryd. Set FERRY_GUI_SCREENSHOT=PATH to save the main window after
// the verified download (docs/ferry-gui.png is made that way).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileSystemModel>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeView>
#include <QApplication>
#include <QUrl>

#include "connect_dialog.hpp"
#include "ferryd_process.hpp"
#include "main_window.hpp"
#include "remote_dir_model.hpp"
#include "session.hpp"
#include "transfer_queue_model.hpp"

using namespace ferry::gui;

namespace {

constexpr int wait_ms = 20000;
constexpr qint64 large_size = 512LL * 1024 * 1024;  // sparse on the server's disk

QByteArray read_file(const QString& path) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

template <typename T>
T* child(QObject* parent, const char* name) {
  T* widget = parent->findChild<T*>(QLatin1String(name));
  if (widget == nullptr) qFatal("no child widget named %s", name);
  return widget;
}

// Types the address and credentials into the connect screen (and clicks Connect).
void fill_and_connect(MainWindow& window, quint16 port, const QString& user, const QString& password,
                      bool click = true) {
  ConnectDialog* dialog = window.connectDialog();
  auto* host = child<QLineEdit>(dialog, "host");
  host->clear();
  QTest::keyClicks(host, QStringLiteral("127.0.0.1"));
  auto* portBox = child<QSpinBox>(dialog, "port");
  portBox->clear();
  QTest::keyClicks(portBox, QString::number(port));
  auto* userEdit = child<QLineEdit>(dialog, "user");
  userEdit->clear();
  QTest::keyClicks(userEdit, user);
  auto* passwordEdit = child<QLineEdit>(dialog, "password");
  passwordEdit->clear();
  QTest::keyClicks(passwordEdit, password);
  if (click) QTest::mouseClick(child<QPushButton>(dialog, "connect"), Qt::LeftButton);
}

// A key pressed in `window` where its keyboard focus is now, as a person's key press lands
// (on the window's focus widget even when another window is the active one offscreen).
void press(QWidget* window, Qt::Key key, Qt::KeyboardModifiers modifiers = Qt::NoModifier) {
  QWidget* focused = window->focusWidget();
  QTest::keyClick(focused != nullptr ? focused : window, key, modifiers);
}

// The view's index of the remote entry `name` (column 0), invalid when absent.
QModelIndex remote_index(MainWindow& window, const QString& name) {
  auto* view = child<QTableView>(&window, "remoteView");
  for (int row = 0; row < view->model()->rowCount(); ++row) {
    const QModelIndex index = view->model()->index(row, 0);
    if (index.data().toString() == name) return index;
  }
  return {};
}

void click_remote(MainWindow& window, const QString& name, bool twice = false) {
  auto* view = child<QTableView>(&window, "remoteView");
  const QModelIndex index = remote_index(window, name);
  const QPoint where = view->visualRect(index).center();
  QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, where);
  if (twice) QTest::mouseDClick(view->viewport(), Qt::LeftButton, {}, where);
}

TransferState state_of(MainWindow& window, int row) {
  if (window.transferModel()->rowCount() <= row) return TransferState::queued;
  return window.transferModel()->row(row).state;
}

// A server with a large ferry.png, and `window` connected to it and listing it. The server
// is frozen as soon as a transfer's first bytes arrive, so that the transfer is surely under
// way; `paused` turns true then.
void connect_pausing_mid_transfer(FerrydProcess& server, QTemporaryDir& local, MainWindow& window, bool& paused) {
  QVERIFY2(server.start(QString(), largePng(large_size)), qPrintable(server.error()));
  window.setLocalDirectory(local.path());
  window.start();
  fill_and_connect(window, server.port(), server.user(), server.password());
  QTRY_VERIFY_WITH_TIMEOUT(remote_index(window, QStringLiteral("ferry.png")).isValid(), wait_ms);
  QObject::connect(window.session(), &Session::transferProgress, &window, [&](int, quint64 done, quint64 total, double) {
    if (!paused && done > 0 && done < total) {
      server.pause();
      paused = true;
    }
  });
}

}  // namespace

class GuiTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QCoreApplication::setOrganizationName(QStringLiteral("ferry"));
    QCoreApplication::setApplicationName(QStringLiteral("ferry-gui-test"));
  }

  void urlFillsTheForm() {
    MainWindow window;
    window.start(QStringLiteral("ftp://demo@127.0.0.1:2121/pub/"));
    ConnectDialog* dialog = window.connectDialog();
    QTRY_VERIFY(dialog->isVisible());
    QCOMPARE(child<QLineEdit>(dialog, "host")->text(), QStringLiteral("127.0.0.1"));
    QCOMPARE(child<QSpinBox>(dialog, "port")->value(), 2121);
    QCOMPARE(child<QLineEdit>(dialog, "user")->text(), QStringLiteral("demo"));
    QVERIFY(child<QLineEdit>(dialog, "password")->text().isEmpty());
    QCOMPARE(child<QLineEdit>(dialog, "password")->echoMode(), QLineEdit::Password);
    QVERIFY(child<QCheckBox>(dialog, "useTls")->isEnabled());
    QVERIFY(!child<QCheckBox>(dialog, "useTls")->isChecked());  // plain FTP unless asked
    QCOMPARE(dialog->initialPath(), QStringLiteral("/pub/"));
  }

  void downloadPngVerified() {
    FerrydProcess server;
    QVERIFY2(server.start(), qPrintable(server.error()));
    QTemporaryDir local;
    MainWindow window;
    window.setLocalDirectory(local.path());
    window.start();
    fill_and_connect(window, server.port(), server.user(), server.password());
    QTRY_VERIFY_WITH_TIMEOUT(window.isVisible(), wait_ms);
    QTRY_VERIFY_WITH_TIMEOUT(remote_index(window, QStringLiteral("ferry.png")).isValid(), wait_ms);
    QVERIFY(!child<QPushButton>(&window, "upload")->isEnabled());  // send_png is read-only

    click_remote(window, QStringLiteral("ferry.png"));
    auto* download = child<QPushButton>(&window, "download");
    QVERIFY(download->isEnabled());
    QTest::mouseClick(download, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(isFinished(state_of(window, 0)), wait_ms);

    const auto& row = window.transferModel()->row(0);
    QCOMPARE(row.state, TransferState::verified);
    QVERIFY2(row.result.contains(QStringLiteral("received %1 bytes, SHA-256 matches the server").arg(server.image().size())),
             qPrintable(row.result));
    QCOMPARE(read_file(local.filePath(QStringLiteral("ferry.png"))), server.image());
    QVERIFY(!QFile::exists(local.filePath(QStringLiteral("ferry.png.part"))));

    // The log shows the conversation with the password masked.
    const QString log = child<QPlainTextEdit>(&window, "log")->toPlainText();
    QVERIFY2(log.contains(QStringLiteral("Command: PASS ****")), qPrintable(log));
    QVERIFY(log.contains(QStringLiteral("Response: 230")));
    QVERIFY(!log.contains(server.password()));
    // The site is remembered without its password.
    QVERIFY(ConnectDialog::recentSites().contains(QStringLiteral("ftp://alice@127.0.0.1:%1/").arg(server.port())));
    QSettings settings;
    settings.sync();
    QVERIFY(!read_file(settings.fileName()).contains(server.password().toUtf8()));

    const QByteArray screenshot = qgetenv("FERRY_GUI_SCREENSHOT");
    if (!screenshot.isEmpty()) {
      QTest::qWait(200);
      QVERIFY(window.grab().save(QString::fromLocal8Bit(screenshot)));
    }
  }

  void downloadOverTlsVerified() {
    // A server that requires FTPS, with a self-signed certificate the form is told to trust.
    QTemporaryDir certs;
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
                  {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("rsa:2048"),
                   QStringLiteral("-nodes"), QStringLiteral("-days"), QStringLiteral("2"), QStringLiteral("-keyout"),
                   certs.filePath(QStringLiteral("key.pem")), QStringLiteral("-out"),
                   certs.filePath(QStringLiteral("cert.pem")), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
                   QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1")});
    QVERIFY(openssl.waitForFinished(60000));
    QCOMPARE(openssl.exitCode(), 0);
    FerrydProcess server;
    const QString config = QStringLiteral("[[mount]]\npath = \"/\"\nplugin = \"send_png\"\nimage = \"ferry.png\"\n\n"
                                          "[tls]\ncertificate = \"%1\"\nprivate_key = \"%2\"\nrequire = true\n")
                               .arg(certs.filePath(QStringLiteral("cert.pem")), certs.filePath(QStringLiteral("key.pem")));
    QVERIFY2(server.start(config), qPrintable(server.error()));
    QTemporaryDir local;
    MainWindow window;
    window.setLocalDirectory(local.path());
    window.start();
    ConnectDialog* dialog = window.connectDialog();
    QTRY_VERIFY(dialog->isVisible());
    child<QCheckBox>(dialog, "useTls")->click();
    QVERIFY(child<QCheckBox>(dialog, "useTls")->isChecked());
    QTest::keyClicks(child<QLineEdit>(dialog, "caFile"), certs.filePath(QStringLiteral("cert.pem")));
    fill_and_connect(window, server.port(), server.user(), server.password());
    QTRY_VERIFY_WITH_TIMEOUT(window.isVisible(), wait_ms);
    QTRY_VERIFY_WITH_TIMEOUT(remote_index(window, QStringLiteral("ferry.png")).isValid(), wait_ms);
    click_remote(window, QStringLiteral("ferry.png"));
    QTest::mouseClick(child<QPushButton>(&window, "download"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(isFinished(state_of(window, 0)), wait_ms);
    const auto& row = window.transferModel()->row(0);
    QCOMPARE(row.state, TransferState::verified);
    QCOMPARE(read_file(local.filePath(QStringLiteral("ferry.png"))), server.image());
    const QString log = child<QPlainTextEdit>(&window, "log")->toPlainText();
    QVERIFY2(log.contains(QStringLiteral("Command: AUTH TLS")), qPrintable(log));
    QVERIFY2(log.contains(QStringLiteral("PROT P")), qPrintable(log));

    // The site is remembered with its TLS and CA file: picked from the recent sites, it
    // connects with FTPS again, not in plain FTP with the password in clear.
    MainWindow again;
    again.start();
    ConnectDialog* second = again.connectDialog();
    QTRY_VERIFY(second->isVisible());
    auto* recent = child<QComboBox>(second, "recent");
    const int site = recent->findText(QStringLiteral("ftp://alice@127.0.0.1:%1/").arg(server.port()));
    QVERIFY(site > 0);
    recent->setCurrentIndex(site);
    Q_EMIT recent->activated(site);
    QVERIFY(child<QCheckBox>(second, "useTls")->isChecked());
    QCOMPARE(child<QLineEdit>(second, "caFile")->text(), certs.filePath(QStringLiteral("cert.pem")));
    QTest::keyClicks(child<QLineEdit>(second, "password"), server.password());
    QTest::mouseClick(child<QPushButton>(second, "connect"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(remote_index(again, QStringLiteral("ferry.png")).isValid(), wait_ms);
    const QString second_log = child<QPlainTextEdit>(&again, "log")->toPlainText();
    QVERIFY2(second_log.contains(QStringLiteral("Command: AUTH TLS")), qPrintable(second_log));
  }

  void wrongPasswordKeepsFormUsable() {
    FerrydProcess server;
    QVERIFY2(server.start(), qPrintable(server.error()));
    MainWindow window;
    window.start();
    fill_and_connect(window, server.port(), server.user(), QStringLiteral("not-the-password"));
    ConnectDialog* dialog = window.connectDialog();
    auto* status = child<QLabel>(dialog, "status");
    QTRY_VERIFY_WITH_TIMEOUT(status->text().startsWith(QStringLiteral("login refused")), wait_ms);
    QVERIFY(!window.isVisible());
    QVERIFY(dialog->isVisible());
    QVERIFY(child<QLineEdit>(dialog, "password")->isEnabled());
    QVERIFY(child<QLineEdit>(dialog, "host")->isEnabled());
    QVERIFY(child<QPushButton>(dialog, "connect")->isEnabled());

    // The same form, now with the right password, logs in.
    fill_and_connect(window, server.port(), server.user(), server.password());
    QTRY_VERIFY_WITH_TIMEOUT(window.isVisible(), wait_ms);
    QTRY_VERIFY_WITH_TIMEOUT(remote_index(window, QStringLiteral("ferry.png")).isValid(), wait_ms);
  }

  void connectionRefusedSaysSo() {
    // A port that was free a moment ago and has no listener now.
    const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    QVERIFY(probe >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    QVERIFY(::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    QVERIFY(::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    ::close(probe);
    const quint16 port = ntohs(address.sin_port);
    MainWindow window;
    window.start();
    fill_and_connect(window, port, QStringLiteral("demo"), QStringLiteral("ferry"));
    auto* status = child<QLabel>(window.connectDialog(), "status");
    const QString expected = QStringLiteral("connection refused: is ferryd running on 127.0.0.1:%1?").arg(port);
    QTRY_COMPARE_WITH_TIMEOUT(status->text(), expected, wait_ms);
    QVERIFY(child<QPushButton>(window.connectDialog(), "connect")->isEnabled());
  }

  void serverStoppedMidTransfer() {
    FerrydProcess server;
    QTemporaryDir local;
    MainWindow window;
    bool paused = false;
    connect_pausing_mid_transfer(server, local, window, paused);
    if (QTest::currentTestFailed()) return;
    click_remote(window, QStringLiteral("ferry.png"), true);  // double-click downloads a file
    QTRY_VERIFY_WITH_TIMEOUT(paused, wait_ms);
    QVERIFY(server.stop());
    QTRY_VERIFY_WITH_TIMEOUT(isFinished(state_of(window, 0)), wait_ms);
    const auto& row = window.transferModel()->row(0);
    QCOMPARE(row.state, TransferState::failed);
    QVERIFY(!row.result.isEmpty());
    QVERIFY2(!QFile::exists(local.filePath(QStringLiteral("ferry.png"))), qPrintable(row.result));
    QVERIFY(child<QPlainTextEdit>(&window, "log")->toPlainText().contains(QStringLiteral("[1] Error: ")));
  }

  void cancelTransfer() {
    FerrydProcess server;
    QTemporaryDir local;
    MainWindow window;
    bool paused = false;
    connect_pausing_mid_transfer(server, local, window, paused);
    if (QTest::currentTestFailed()) return;
    click_remote(window, QStringLiteral("ferry.png"));
    QTest::mouseClick(child<QPushButton>(&window, "download"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(paused, wait_ms);

    auto* transfers = child<QTableView>(&window, "transfers");
    QTest::mouseClick(transfers->viewport(), Qt::LeftButton, {},
                      transfers->visualRect(transfers->model()->index(0, 0)).center());
    auto* cancel = child<QPushButton>(&window, "cancelTransfer");
    QVERIFY(cancel->isEnabled());
    QTest::mouseClick(cancel, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(isFinished(state_of(window, 0)), wait_ms);
    QCOMPARE(window.transferModel()->row(0).state, TransferState::cancelled);
    QVERIFY(!QFile::exists(local.filePath(QStringLiteral("ferry.png"))));
    QVERIFY(!QFile::exists(local.filePath(QStringLiteral("ferry.png.part"))));
  }

  void twoDownloadsOfOneNameDoNotShareAPartFile() {
    // The second download to the same local name waits for the first: run together, the two
    // would write (and rename) one ferry.png.part.
    FerrydProcess server;
    QTemporaryDir local;
    MainWindow window;
    bool paused = false;
    connect_pausing_mid_transfer(server, local, window, paused);
    if (QTest::currentTestFailed()) return;
    QSignalSpy started(window.session(), &Session::transferStarted);
    click_remote(window, QStringLiteral("ferry.png"));
    auto* download = child<QPushButton>(&window, "download");
    QTest::mouseClick(download, Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(paused, wait_ms);
    QTest::mouseClick(download, Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(window.transferModel()->rowCount(), 2, wait_ms);
    QTest::qWait(500);
    QCOMPARE(started.count(), 1);
    QCOMPARE(state_of(window, 1), TransferState::queued);
    server.resume();
    QTRY_VERIFY_WITH_TIMEOUT(isFinished(state_of(window, 0)) && isFinished(state_of(window, 1)), wait_ms);
    QCOMPARE(window.transferModel()->row(0).state, TransferState::verified);
    QVERIFY2(window.transferModel()->row(1).state == TransferState::verified,
             qPrintable(window.transferModel()->row(1).result));
    QCOMPARE(read_file(local.filePath(QStringLiteral("ferry.png"))), server.image());
    QCOMPARE(QDir(local.path()).entryList(QDir::Files | QDir::Hidden | QDir::System),
             QStringList{QStringLiteral("ferry.png")});
  }

  void uploadByDropAndReadOnlyDirectory() {
    FerrydProcess server;
    const QString mounts = QStringLiteral(
        "[[mount]]\npath = \"/\"\nplugin = \"fs_local\"\nroot = \"files/%u\"\nwritable = true\n\n"
        "[[mount]]\npath = \"/welcome\"\nplugin = \"send_png\"\nimage = \"ferry.png\"\n");
    QVERIFY(QDir(server.dir()).mkpath(QStringLiteral("files/alice")));
    QVERIFY2(server.start(mounts), qPrintable(server.error()));
    QTemporaryDir local;
    QByteArray payload(300 * 1024, '\0');
    for (qsizetype i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 7919) % 251);
    const QString source = local.filePath(QStringLiteral("report.bin"));
    {
      QFile file(source);
      QVERIFY(file.open(QIODevice::WriteOnly));
      file.write(payload);
    }

    MainWindow window;
    window.setLocalDirectory(local.path());
    window.start();
    fill_and_connect(window, server.port(), server.user(), server.password());
    QTRY_VERIFY_WITH_TIMEOUT(remote_index(window, QStringLiteral("welcome")).isValid(), wait_ms);
    QVERIFY(child<QPushButton>(&window, "upload")->isEnabled());

    // Drop the file on the remote pane, as from a file manager.
    auto* viewport = child<QTableView>(&window, "remoteView")->viewport();
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(source)});
    const QPoint where = viewport->rect().center();
    QDragEnterEvent enter(where, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(viewport, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(where), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(viewport, &drop);
    QTRY_VERIFY_WITH_TIMEOUT(isFinished(state_of(window, 0)), wait_ms);
    const auto& row = window.transferModel()->row(0);
    QCOMPARE(row.state, TransferState::verified);
    QVERIFY2(row.result.contains(QStringLiteral("sent %1 bytes, SHA-256 matches the server").arg(payload.size())),
             qPrintable(row.result));
    QCOMPARE(read_file(server.dir() + QStringLiteral("/files/alice/report.bin")), payload);
    // The listing is refreshed with the new file.
    QTRY_VERIFY_WITH_TIMEOUT(remote_index(window, QStringLiteral("report.bin")).isValid(), wait_ms);

    // Into the read-only directory: uploads are off there.
    click_remote(window, QStringLiteral("welcome"), true);
    QTRY_COMPARE_WITH_TIMEOUT(window.remoteModel()->path(), QStringLiteral("/welcome"), wait_ms);
    QVERIFY(remote_index(window, QStringLiteral("ferry.png")).isValid());
    QVERIFY(!child<QPushButton>(&window, "upload")->isEnabled());
    QDragEnterEvent refused(where, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(viewport, &refused);
    QVERIFY(!refused.isAccepted());
    // Up leads back.
    QTest::mouseClick(child<QPushButton>(&window, "up"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(window.remoteModel()->path(), QStringLiteral("/"), wait_ms);
  }

  void enterInThePasswordConnects() {
    FerrydProcess server;
    QVERIFY2(server.start(), qPrintable(server.error()));
    QTemporaryDir local;
    MainWindow window;
    window.setLocalDirectory(local.path());
    window.start();
    ConnectDialog* dialog = window.connectDialog();
    QVERIFY(QTest::qWaitForWindowActive(dialog));
    fill_and_connect(window, server.port(), server.user(), server.password(), false);
    auto* password = child<QLineEdit>(dialog, "password");
    password->setFocus();
    QTRY_VERIFY(password->hasFocus());
    // Frozen, the server accepts but never greets: the attempt stays in progress while
    // Enter is pressed again where the focus went (Cancel, once the form is disabled).
    server.pause();
    QTest::keyClick(password, Qt::Key_Return);
    auto* status = child<QLabel>(dialog, "status");
    QVERIFY2(status->text().startsWith(QStringLiteral("Connecting")), qPrintable(status->text()));
    press(dialog, Qt::Key_Return);
    press(dialog, Qt::Key_Enter, Qt::KeypadModifier);
    QTest::qWait(200);
    QVERIFY2(status->text().startsWith(QStringLiteral("Connecting")), qPrintable(status->text()));
    server.resume();
    QTRY_VERIFY_WITH_TIMEOUT(window.isVisible(), wait_ms);
    QTRY_VERIFY_WITH_TIMEOUT(remote_index(window, QStringLiteral("ferry.png")).isValid(), wait_ms);

    // The keypad's Enter in the password connects too; Escape abandons an attempt at once,
    // even one still queued behind the last connection's QUIT (the server, frozen before
    // the disconnect, does not answer it).
    server.pause();
    child<QPushButton>(&window, "disconnect")->click();
    QTRY_VERIFY(dialog->isVisible());
    QVERIFY(QTest::qWaitForWindowActive(dialog));
    fill_and_connect(window, server.port(), server.user(), server.password(), false);
    dialog->activateWindow();
    QTRY_VERIFY(dialog->isActiveWindow());
    password->setFocus();
    QTRY_VERIFY(password->hasFocus());
    press(dialog, Qt::Key_Enter, Qt::KeypadModifier);
    QVERIFY2(status->text().startsWith(QStringLiteral("Connecting")), qPrintable(status->text()));
    press(dialog, Qt::Key_Escape);
    QTRY_VERIFY_WITH_TIMEOUT(child<QLineEdit>(dialog, "host")->isEnabled(), 5000);  // not the 30 s timeout
    QVERIFY2(status->text().contains(QStringLiteral("cancelled")), qPrintable(status->text()));
    QVERIFY(dialog->isVisible());
    server.resume();
    QVERIFY(dialog->focusWidget() != child<QPushButton>(dialog, "cancel"));  // Enter would quit there
    press(dialog, Qt::Key_Enter, Qt::KeypadModifier);
    QTRY_VERIFY_WITH_TIMEOUT(window.isVisible(), wait_ms);
    QTRY_VERIFY_WITH_TIMEOUT(remote_index(window, QStringLiteral("ferry.png")).isValid(), wait_ms);
  }

  void keysInTheLists() {
    // Enter on a remote directory opens it, on a remote file downloads it; Backspace goes
    // up; Enter on a local file uploads it where uploads are allowed.
    FerrydProcess server;
    const QString mounts = QStringLiteral("[[mount]]\npath = \"/\"\nplugin = \"fs_local\"\nroot = \"files/%u\"\n"
                                          "writable = true\n\n[[mount]]\npath = \"/welcome\"\nplugin = \"send_png\"\n"
                                          "image = \"ferry.png\"\n");
    QVERIFY2(server.start(mounts), qPrintable(server.error()));
    QTemporaryDir local;
    const QByteArray payload = QByteArray("uploaded with Enter\n").repeated(1000);
    {
      QFile file(local.filePath(QStringLiteral("by-enter.txt")));
      QVERIFY(file.open(QIODevice::WriteOnly));
      file.write(payload);
    }
    QVERIFY(QDir(local.path()).mkdir(QStringLiteral("sub")));
    MainWindow window;
    window.setLocalDirectory(local.path());
    window.start();
    fill_and_connect(window, server.port(), server.user(), server.password());
    QTRY_VERIFY_WITH_TIMEOUT(remote_index(window, QStringLiteral("welcome")).isValid(), wait_ms);
    auto* remote = child<QTableView>(&window, "remoteView");

    remote->setFocus();
    remote->setCurrentIndex(remote_index(window, QStringLiteral("welcome")));
    QTest::keyClick(remote, Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(window.remoteModel()->path(), QStringLiteral("/welcome"), wait_ms);
    QTRY_VERIFY_WITH_TIMEOUT(remote_index(window, QStringLiteral("ferry.png")).isValid(), wait_ms);
    remote->setCurrentIndex(remote_index(window, QStringLiteral("ferry.png")));
    QTest::keyClick(remote, Qt::Key_Enter, Qt::KeypadModifier);
    QTRY_VERIFY_WITH_TIMEOUT(isFinished(state_of(window, 0)), wait_ms);
    QCOMPARE(window.transferModel()->row(0).state, TransferState::verified);
    QCOMPARE(read_file(local.filePath(QStringLiteral("ferry.png"))), server.image());
    QTest::keyClick(remote, Qt::Key_Backspace);
    QTRY_COMPARE_WITH_TIMEOUT(window.remoteModel()->path(), QStringLiteral("/"), wait_ms);

    auto* localView = child<QTreeView>(&window, "localView");
    auto* localModel = qobject_cast<QFileSystemModel*>(localView->model());
    QVERIFY(localModel != nullptr);
    QTRY_VERIFY_WITH_TIMEOUT(localModel->index(local.filePath(QStringLiteral("by-enter.txt"))).isValid(), wait_ms);
    localView->setFocus();
    localView->setCurrentIndex(localModel->index(local.filePath(QStringLiteral("by-enter.txt"))));
    QTest::keyClick(localView, Qt::Key_Return);
    QTRY_VERIFY_WITH_TIMEOUT(window.transferModel()->rowCount() == 2 && isFinished(state_of(window, 1)), wait_ms);
    QCOMPARE(window.transferModel()->row(1).state, TransferState::verified);
    QCOMPARE(read_file(server.dir() + QStringLiteral("/files/alice/by-enter.txt")), payload);
    // Enter on a local directory opens it; Backspace goes back up.
    localView->setCurrentIndex(localModel->index(local.filePath(QStringLiteral("sub"))));
    QTest::keyClick(localView, Qt::Key_Return);
    QTRY_COMPARE(child<QLineEdit>(&window, "localPath")->text(), QDir::toNativeSeparators(local.filePath(QStringLiteral("sub"))));
    QTest::keyClick(localView, Qt::Key_Backspace);
    QTRY_COMPARE(child<QLineEdit>(&window, "localPath")->text(), QDir::toNativeSeparators(QDir(local.path()).absolutePath()));
  }

  void closeDuringTransferAsksThenCancels() {
    FerrydProcess server;
    QTemporaryDir local;
    MainWindow window;
    bool paused = false;
    connect_pausing_mid_transfer(server, local, window, paused);
    if (QTest::currentTestFailed()) return;
    click_remote(window, QStringLiteral("ferry.png"), true);
    QTRY_VERIFY_WITH_TIMEOUT(paused, wait_ms);

    QVERIFY(!window.close());  // asks first
    QMessageBox* box = nullptr;
    QTRY_VERIFY((box = window.findChild<QMessageBox*>(QStringLiteral("confirmClose"))) != nullptr);
    QVERIFY(window.isVisible());
    QTest::mouseClick(box->button(QMessageBox::Yes), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!window.isVisible(), wait_ms);
    QCOMPARE(window.transferModel()->row(0).state, TransferState::cancelled);
    QVERIFY(!QFile::exists(local.filePath(QStringLiteral("ferry.png"))));
    QVERIFY(!QFile::exists(local.filePath(QStringLiteral("ferry.png.part"))));
  }
};

QTEST_MAIN(GuiTest)
#include "gui_test.moc"
