// ConnectDialog: the form, the recent-sites list in QSettings, and the states of a login
// attempt (idle, connecting, refused).
#include "connect_dialog.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QUrl>
#include <QVariantMap>
#include <QVBoxLayout>

#include "session.hpp"
#include "url.hpp"

namespace ferry::gui {

namespace {

constexpr int max_recent_sites = 10;
const char* const recent_key = "recentSites";
// {site URL: {"tls": "explicit", "caFile": PEM}}: what the URL cannot say. An implicit FTPS
// site is an ftps:// URL; a site without an entry was plain FTP.
const char* const recent_options_key = "recentSiteOptions";
const char* const tls_option = "tls";
const char* const ca_file_option = "caFile";

QString site_url(const QString& user, const QString& host, int port, bool implicit_tls) {
  const QString shown_host = host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') : host;
  const QString who = user.isEmpty() ? QString() : QString::fromUtf8(QUrl::toPercentEncoding(user)) + QLatin1Char('@');
  return QStringLiteral("%1://%2%3:%4/")
      .arg(implicit_tls ? QStringLiteral("ftps") : QStringLiteral("ftp"), who, shown_host)
      .arg(port);
}

}  // namespace

ConnectDialog::ConnectDialog(Session* session, QWidget* parent) : QDialog(parent), session_(session) {
  setWindowTitle(tr("ferry — Connect"));
  setObjectName(QStringLiteral("connectDialog"));

  recent_ = new QComboBox(this);
  recent_->setObjectName(QStringLiteral("recent"));
  recent_->addItem(tr("(new site)"));
  recent_->addItems(recentSites());
  host_ = new QLineEdit(this);
  host_->setObjectName(QStringLiteral("host"));
  host_->setPlaceholderText(QStringLiteral("127.0.0.1"));
  port_ = new QSpinBox(this);
  port_->setObjectName(QStringLiteral("port"));
  port_->setRange(1, 65535);
  port_->setValue(2121);
  user_ = new QLineEdit(this);
  user_->setObjectName(QStringLiteral("user"));
  password_ = new QLineEdit(this);
  password_->setObjectName(QStringLiteral("password"));
  password_->setEchoMode(QLineEdit::Password);
  tls_ = new QCheckBox(tr("Use TLS (FTPS)"), this);
  tls_->setObjectName(QStringLiteral("useTls"));
  tls_->setToolTip(tr("Explicit FTPS (AUTH TLS): commands and data encrypted, the server's "
                      "certificate verified"));
  caFile_ = new QLineEdit(this);
  caFile_->setObjectName(QStringLiteral("caFile"));
  caFile_->setPlaceholderText(tr("optional: a PEM file to trust (e.g. tls/cert.pem)"));
  status_ = new QLabel(this);
  status_->setObjectName(QStringLiteral("status"));
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* buttons = new QDialogButtonBox(this);
  connect_ = buttons->addButton(tr("&Connect"), QDialogButtonBox::AcceptRole);
  connect_->setObjectName(QStringLiteral("connect"));
  connect_->setDefault(true);
  cancel_ = buttons->addButton(tr("&Quit"), QDialogButtonBox::RejectRole);
  cancel_->setObjectName(QStringLiteral("cancel"));
  // Enter is the dialog's (keyPressEvent), not the focused button's: once Connect disables
  // the form, the focus lands on Cancel, and an auto-default Cancel would take the Enter
  // that started the attempt and abandon it at once.
  connect_->setAutoDefault(false);
  cancel_->setAutoDefault(false);

  auto* form = new QFormLayout;
  form->addRow(tr("&Recent sites:"), recent_);
  form->addRow(tr("&Host:"), host_);
  form->addRow(tr("P&ort:"), port_);
  form->addRow(tr("&User:"), user_);
  form->addRow(tr("&Password:"), password_);
  form->addRow(QString(), tls_);
  form->addRow(tr("CA &certificate:"), caFile_);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(status_);
  layout->addWidget(buttons);
  setMinimumWidth(380);

  QObject::connect(connect_, &QPushButton::clicked, this, &ConnectDialog::connectClicked);
  QObject::connect(cancel_, &QPushButton::clicked, this, &ConnectDialog::reject);
  QObject::connect(recent_, &QComboBox::activated, this, &ConnectDialog::recentChosen);
  QObject::connect(host_, &QLineEdit::textChanged, this, &ConnectDialog::updateConnectEnabled);
  QObject::connect(session_, &Session::connected, this, &ConnectDialog::onConnected);
  QObject::connect(session_, &Session::failed, this, &ConnectDialog::onFailed);
  updateConnectEnabled();
}

bool ConnectDialog::fillFromUrl(const QString& text) {
  try {
    const client::FtpUrl url = client::parse_url(text.toStdString());
    host_->setText(QString::fromStdString(url.host));
    port_->setValue(url.port);
    user_->setText(QString::fromStdString(url.user));
    if (url.password) password_->setText(QString::fromStdString(*url.password));
    implicitTls_ = url.implicit_tls;
    if (url.implicit_tls) tls_->setChecked(true);
    initialPath_ = QString::fromStdString(url.path);
    (user_->text().isEmpty() ? user_ : password_)->setFocus();
    return true;
  } catch (const client::UrlError& e) {
    status_->setText(tr("Not a valid ftp:// URL: %1").arg(QString::fromUtf8(e.what())));
    return false;
  }
}

QStringList ConnectDialog::recentSites() {
  return QSettings().value(QLatin1String(recent_key)).toStringList();
}

void ConnectDialog::recentChosen(int index) {
  if (index <= 0) return;
  const QString path = initialPath_;
  const QString site = recent_->itemText(index);
  if (fillFromUrl(site)) {
    password_->clear();
    // The site's security as it was used: a site used with TLS never falls back to plain
    // FTP (and a password in clear) because it was picked from the list.
    const QVariantMap options = QSettings().value(QLatin1String(recent_options_key)).toMap().value(site).toMap();
    const bool explicit_tls = options.value(QLatin1String(tls_option)).toString() == QLatin1String("explicit");
    tls_->setChecked(implicitTls_ || explicit_tls);
    caFile_->setText(options.value(QLatin1String(ca_file_option)).toString());
  }
  initialPath_ = path;
  password_->setFocus();
}

void ConnectDialog::connectClicked() {
  if (busy_ || host_->text().trimmed().isEmpty()) return;
  ServerAddress address;
  address.host = host_->text().trimmed();
  if (address.host.startsWith(QLatin1Char('[')) && address.host.endsWith(QLatin1Char(']'))) {
    address.host = address.host.mid(1, address.host.size() - 2);
  }
  address.port = static_cast<quint16>(port_->value());
  address.user = user_->text().isEmpty() ? QStringLiteral("anonymous") : user_->text();
  address.password = password_->text();
  address.tls = tls_->isChecked();
  address.implicitTls = implicitTls_ && address.tls;
  address.caFile = caFile_->text().trimmed();
  QWidget* focused = focusWidget();
  fieldBeforeConnect_ = focused == connect_ || focused == cancel_ ? static_cast<QWidget*>(password_) : focused;
  setBusy(true);
  status_->setStyleSheet(QString());
  status_->setText(tr("Connecting to %1:%2…").arg(address.host).arg(address.port));
  session_->open(address);
}

void ConnectDialog::onConnected() {
  if (!busy_) return;
  setBusy(false);
  status_->clear();
  rememberSite();
  password_->clear();
  accept();
}

void ConnectDialog::onFailed(const QString& reason) {
  if (!busy_) return;
  setBusy(false);
  status_->setStyleSheet(QStringLiteral("color: #b02020"));
  status_->setText(reason);
  if (reason.startsWith(QLatin1String("login refused"))) {
    password_->selectAll();
    password_->setFocus();
  } else if (fieldBeforeConnect_ != nullptr) {
    fieldBeforeConnect_->setFocus();  // not Quit, where the disabled form left it
  }
}

void ConnectDialog::keyPressEvent(QKeyEvent* event) {
  if (event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter) {
    event->accept();
    if (busy_) return;  // Escape abandons the attempt; Enter never does
    if (focusWidget() == cancel_) {
      reject();  // Enter on a focused Quit quits, as on any focused button
    } else {
      connectClicked();
    }
    return;
  }
  QDialog::keyPressEvent(event);
}

void ConnectDialog::reject() {
  if (busy_) {  // the first Escape abandons the attempt, a second one closes
    session_->abortOpen();
    return;
  }
  QDialog::reject();
}

void ConnectDialog::setBusy(bool busy) {
  busy_ = busy;
  for (QWidget* w : {static_cast<QWidget*>(recent_), static_cast<QWidget*>(host_), static_cast<QWidget*>(port_),
                     static_cast<QWidget*>(user_), static_cast<QWidget*>(password_), static_cast<QWidget*>(tls_),
                     static_cast<QWidget*>(caFile_)}) {
    w->setEnabled(!busy);
  }
  cancel_->setText(busy ? tr("&Cancel") : tr("&Quit"));
  updateConnectEnabled();
}

void ConnectDialog::updateConnectEnabled() { connect_->setEnabled(!busy_ && !host_->text().trimmed().isEmpty()); }

void ConnectDialog::rememberSite() {
  const bool tls = tls_->isChecked();
  const bool implicit_tls = tls && implicitTls_;
  const QString site = site_url(user_->text(), host_->text().trimmed(), port_->value(), implicit_tls);
  QStringList sites = recentSites();
  sites.removeAll(site);
  sites.prepend(site);
  while (sites.size() > max_recent_sites) sites.removeLast();
  QSettings settings;
  settings.setValue(QLatin1String(recent_key), sites);
  const QVariantMap old_options = settings.value(QLatin1String(recent_options_key)).toMap();
  QVariantMap options;
  for (const QString& other : sites) {
    if (other != site && old_options.contains(other)) options.insert(other, old_options.value(other));
  }
  QVariantMap own;
  if (tls && !implicit_tls) own.insert(QLatin1String(tls_option), QStringLiteral("explicit"));
  if (tls && !caFile_->text().trimmed().isEmpty()) own.insert(QLatin1String(ca_file_option), caFile_->text().trimmed());
  if (!own.isEmpty()) options.insert(site, own);
  settings.setValue(QLatin1String(recent_options_key), options);
  recent_->clear();
  recent_->addItem(tr("(new site)"));
  recent_->addItems(sites);
}

}  // namespace ferry::gui
