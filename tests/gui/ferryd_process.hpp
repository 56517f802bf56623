// FerrydProcess: a real ferryd for the GUI tests — its own temp dir, users file (made with
// `ferryd passwd`), config on 127.0.0.1 port 0, the port read from its "listening on" line;
// stopped with SIGTERM by PID. Every wait is bounded.
#pragma once

#include <QByteArray>
#include <QProcess>
#include <QString>
#include <QTemporaryDir>

class FerrydProcess {
 public:
  FerrydProcess();
  ~FerrydProcess();

  // `mounts`: the [[mount]] tables (TOML); empty: send_png serving ferry.png at "/".
  // `image`: the served image's bytes; empty: the shipped plugins/send_png/ferry.png.
  bool start(const QString& mounts = QString(), const QByteArray& image = QByteArray());
  void pause();   // SIGSTOP: the server freezes mid-whatever
  void resume();  // SIGCONT
  // SIGTERM (after SIGCONT, in case it was paused) and a bounded wait for the exit.
  bool stop();

  QString dir() const { return dir_.path(); }
  quint16 port() const { return port_; }
  QString user() const { return QStringLiteral("alice"); }
  const QString& password() const { return password_; }
  const QByteArray& image() const { return image_; }
  QString log() const;
  const QString& error() const { return error_; }

 private:
  QTemporaryDir dir_;
  QProcess process_;
  QString password_;
  QByteArray image_;
  quint16 port_ = 0;
  QString error_;
};

// The first 33 bytes of the shipped PNG (signature + IHDR) followed by zeros up to `size`
// bytes: send_png serves it like any PNG; large enough to stop a transfer in the middle.
QByteArray largePng(qint64 size);
