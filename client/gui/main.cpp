// ferry-gui: the desktop client. `ferry-gui [ftp://user@host:port/path]` opens the connect
// screen (filled from the URL); the rest happens in MainWindow.
#include <QApplication>
#include <QCommandLineParser>
#include <cstring>

#include "main_window.hpp"

namespace {

void describe(QCommandLineParser& parser) {
  parser.setApplicationDescription(QStringLiteral(
      "ferry's desktop client: browse an FTP server, download and upload files, each checked "
      "against the server's SHA-256 (HASH)."));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addPositionalArgument(QStringLiteral("url"),
                               QStringLiteral("ftp://[user@]host[:port]/path to fill the connect form with"),
                               QStringLiteral("[URL]"));
}

void name_application() {
  QCoreApplication::setOrganizationName(QStringLiteral("ferry"));
  QCoreApplication::setApplicationName(QStringLiteral("ferry-gui"));
  QCoreApplication::setApplicationVersion(QStringLiteral(FERRY_VERSION));
}

}  // namespace

int main(int argc, char** argv) {
  // --help and --version work without a display.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0 ||
        std::strcmp(argv[i], "-v") == 0 || std::strcmp(argv[i], "--version") == 0) {
      QCoreApplication app(argc, argv);
      name_application();
      QCommandLineParser parser;
      describe(parser);
      parser.process(app);  // prints and exits
    }
  }

  QApplication app(argc, argv);
  name_application();
  QCommandLineParser parser;
  describe(parser);
  parser.process(app);
  const QStringList arguments = parser.positionalArguments();
  if (arguments.size() > 1) parser.showHelp(2);

  ferry::gui::MainWindow window;
  QObject::connect(&window, &ferry::gui::MainWindow::quitRequested, &app, &QApplication::quit, Qt::QueuedConnection);
  window.start(arguments.isEmpty() ? QString() : arguments.front());
  return app.exec();
}
