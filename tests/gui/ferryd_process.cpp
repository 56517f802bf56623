// FerrydProcess: start, pause, stop a real ferryd for the GUI tests.
#include "ferryd_process.hpp"

#include <signal.h>

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QThread>

namespace {

QByteArray read_file(const QString& path) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

bool write_file(const QString& path, const QByteArray& data) {
  QFile file(path);
  return file.open(QIODevice::WriteOnly | QIODevice::Truncate) && file.write(data) == data.size();
}

QString toml_string(const QString& text) {
  QString escaped = text;
  escaped.replace(QLatin1String("\\"), QLatin1String("\\\\")).replace(QLatin1String("\""), QLatin1String("\\\""));
  return QLatin1Char('"') + escaped + QLatin1Char('"');
}

}  // namespace

QByteArray largePng(qint64 size) {
  QByteArray data = read_file(QStringLiteral(FERRY_SOURCE_DIR "/plugins/send_png/ferry.png")).left(33);
  data.resize(size, '\0');
  return data;
}

FerrydProcess::FerrydProcess()
    : password_(QStringLiteral("pw-%1").arg(QRandomGenerator::global()->generate64(), 0, 16)) {}

FerrydProcess::~FerrydProcess() { stop(); }

QString FerrydProcess::log() const { return QString::fromUtf8(read_file(dir_.filePath(QStringLiteral("ferryd.log")))); }

bool FerrydProcess::start(const QString& mounts, const QByteArray& image) {
  if (!dir_.isValid()) return error_ = QStringLiteral("no temp dir"), false;
  image_ = image.isEmpty() ? read_file(QStringLiteral(FERRY_SOURCE_DIR "/plugins/send_png/ferry.png")) : image;
  if (!write_file(dir_.filePath(QStringLiteral("ferry.png")), image_)) return error_ = QStringLiteral("image"), false;

  QProcess passwd;
  passwd.start(QStringLiteral(FERRYD_PATH), {QStringLiteral("passwd"), dir_.filePath(QStringLiteral("users.passwd")), user()});
  if (!passwd.waitForStarted(10000)) return error_ = QStringLiteral("ferryd passwd did not start"), false;
  passwd.write((password_ + QLatin1Char('\n')).toUtf8());
  passwd.closeWriteChannel();
  if (!passwd.waitForFinished(30000) || passwd.exitCode() != 0) {
    return error_ = QStringLiteral("ferryd passwd failed: ") + QString::fromUtf8(passwd.readAllStandardError()), false;
  }

  // A random block of passive ports below the ephemeral range, as the e2e harness does.
  const int base = 20000 + static_cast<int>(QRandomGenerator::global()->bounded(126)) * 100;
  const QString mountText =
      mounts.isEmpty() ? QStringLiteral("[[mount]]\npath = \"/\"\nplugin = \"send_png\"\nimage = \"ferry.png\"\n") : mounts;
  const QString config = QStringLiteral(
                             "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 2\nbanner = \"ferry ready\"\n"
                             "login_timeout = 30\nidle_timeout = 60\ndata_timeout = 20\n"
                             "passive_ports = [%1, %2]\nplugin_dir = %3\nallow_root = true\n\n"
                             "[auth]\nplugin = \"auth_file\"\nusers = \"users.passwd\"\n\n%4")
                             .arg(base)
                             .arg(base + 99)
                             .arg(toml_string(QStringLiteral(FERRY_PLUGIN_DIR)), mountText);
  if (!write_file(dir_.filePath(QStringLiteral("config.toml")), config.toUtf8())) return error_ = QStringLiteral("config"), false;

  process_.setWorkingDirectory(dir_.path());
  process_.setStandardOutputFile(QProcess::nullDevice());
  process_.setStandardErrorFile(dir_.filePath(QStringLiteral("ferryd.log")));
  process_.start(QStringLiteral(FERRYD_PATH), {QStringLiteral("--config"), dir_.filePath(QStringLiteral("config.toml")),
                                               QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")});
  if (!process_.waitForStarted(10000)) return error_ = QStringLiteral("ferryd did not start"), false;
  static const QRegularExpression listening(QStringLiteral("listening on 127\\.0\\.0\\.1:(\\d+)"));
  const QDeadlineTimer deadline(10000);
  while (!deadline.hasExpired()) {
    const QRegularExpressionMatch match = listening.match(log());
    if (match.hasMatch()) {
      port_ = static_cast<quint16>(match.captured(1).toUInt());
      return true;
    }
    if (process_.state() == QProcess::NotRunning) break;
    QThread::msleep(20);
  }
  error_ = QStringLiteral("ferryd did not log 'listening on': ") + log();
  return false;
}

void FerrydProcess::pause() {
  if (process_.state() == QProcess::Running) ::kill(static_cast<pid_t>(process_.processId()), SIGSTOP);
}

void FerrydProcess::resume() {
  if (process_.state() == QProcess::Running) ::kill(static_cast<pid_t>(process_.processId()), SIGCONT);
}

bool FerrydProcess::stop() {
  if (process_.state() == QProcess::NotRunning) return true;
  const auto pid = static_cast<pid_t>(process_.processId());
  ::kill(pid, SIGTERM);
  ::kill(pid, SIGCONT);
  if (process_.waitForFinished(10000)) return true;
  process_.kill();  // SIGKILL to the same PID
  process_.waitForFinished(5000);
  return false;
}
