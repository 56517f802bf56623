// ConnectDialog: the connect screen — host, port, user, password, "Use TLS" (explicit
// FTPS, or implicit for an ftps:// URL) with an optional CA file, recent sites (remembered without their passwords), Connect. It asks Session
// to log in and stays usable, with the reason shown, when that fails.
#pragma once

#include <QDialog>
#include <QString>

class QCheckBox;
class QKeyEvent;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace ferry::gui {

class Session;

class ConnectDialog : public QDialog {
  Q_OBJECT

 public:
  explicit ConnectDialog(Session* session, QWidget* parent = nullptr);

  // Fills the form from ftp://[user[:password]@]host[:port]/path; false (and the reason
  // shown in the dialog) when the URL is not valid.
  bool fillFromUrl(const QString& url);
  // The remote directory to show first: the URL's path, else "/".
  const QString& initialPath() const { return initialPath_; }

  // Recent sites, newest first, as "ftp://user@host:port/" ("ftps://" for implicit FTPS;
  // never a password). Choosing one restores "Use TLS" and the CA file it was used with.
  static QStringList recentSites();

 protected:
  void reject() override;
  // Enter connects from any field of the form, and does nothing while connecting (Escape
  // cancels): QDialog's own Enter would press the focused button, which is Cancel then.
  void keyPressEvent(QKeyEvent* event) override;

 private:
  void connectClicked();
  void onConnected();
  void onFailed(const QString& reason);
  void recentChosen(int index);
  void setBusy(bool busy);
  void rememberSite();
  void updateConnectEnabled();

  Session* session_;
  QComboBox* recent_;
  QLineEdit* host_;
  QSpinBox* port_;
  QLineEdit* user_;
  QLineEdit* password_;
  QCheckBox* tls_;
  QLineEdit* caFile_;
  bool implicitTls_ = false;  // the URL was ftps://
  QLabel* status_;
  QPushButton* connect_;
  QPushButton* cancel_;
  QString initialPath_ = QStringLiteral("/");
  bool busy_ = false;
  QWidget* fieldBeforeConnect_ = nullptr;  // gets the focus back when the attempt ends
};

}  // namespace ferry::gui
