"""The console in a real browser (Debian's chromium, chromedriver and python3-selenium,
headless): log in, see a session appear when curl connects, a download's progress bar
move, disconnect it from the page; a file named <img src=x onerror=alert(1)> shows as
text. FERRY_CONSOLE_SCREENSHOT=PATH saves the page (docs/console.png is made so)."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from console_harness import ConsoleTestCase
from ferryd_harness import fs_local_mounts

import sys

try:
    import selenium  # noqa: F401
except ImportError:  # a Python of its own (pyenv) beside Debian's: use Debian's python3-selenium
    sys.path.append("/usr/lib/python3/dist-packages")
try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service as ChromeService
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover
    webdriver = None

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
HOSTILE = "<img src=x onerror=alert(1)>"
BIG = 48 * 1024 * 1024


@unittest.skipUnless(webdriver and CHROMIUM and CHROMEDRIVER,
                     "needs chromium, chromium-driver and python3-selenium (tests/deps.d/console.list)")
class ConsoleInBrowserTest(ConsoleTestCase):
    server_kwargs = dict(mounts=fs_local_mounts(writable=True))

    @classmethod
    def prepare(cls, server):
        root = server.user_root()
        with open(os.path.join(root, "big.iso"), "wb") as f:
            f.truncate(BIG)
        with open(os.path.join(root, HOSTILE), "wb") as f:
            f.write(b"hello\n")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.profile = tempfile.mkdtemp(prefix="ferry-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-quic", "--window-size=1440,1000", "--force-device-scale-factor=1",
                     f"--user-data-dir={cls.profile}"]:
            options.add_argument(flag)
        try:
            cls.driver = webdriver.Chrome(service=ChromeService(executable_path=CHROMEDRIVER), options=options)
        except BaseException:
            shutil.rmtree(cls.profile, ignore_errors=True)
            super().tearDownClass()
            raise
        cls.driver.set_page_load_timeout(30)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.driver.quit()
        finally:
            shutil.rmtree(cls.profile, ignore_errors=True)
            super().tearDownClass()

    def wait(self, condition, timeout=15):
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)

    def curl(self, path, *extra):
        quoted = urllib.parse.quote(path)
        proc = subprocess.Popen(["curl", "-sS", "-u", f"{self.server.user}:{self.server.password}", *extra,
                                 f"ftp://127.0.0.1:{self.server.port}{quoted}", "-o", os.devnull],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        return proc

    # The table is drawn anew each second: read a row in one script, never through an
    # element that may have gone since.
    def bar_width(self, session):
        return float(self.driver.execute_script(
            "const f = document.querySelector(`#sessions tr[data-session='${arguments[0]}'] .bar .fill`);"
            "return f ? (parseFloat(f.style.width) || 0) : 0;", session))

    def row_text(self, session):
        return self.driver.execute_script(
            "const r = document.querySelector(`#sessions tr[data-session='${arguments[0]}']`);"
            "return r ? r.innerText : '';", session)

    def test_console_follows_a_download_and_disconnects_it(self):
        d = self.driver
        d.get(self.server.console_url() + "/")
        self.wait(EC.visibility_of_element_located((By.ID, "login-form")))
        d.find_element(By.ID, "login-user").send_keys(self.server.operator)
        d.find_element(By.ID, "login-password").send_keys(self.server.operator_password)
        d.find_element(By.ID, "login-submit").click()
        self.wait(EC.visibility_of_element_located((By.ID, "console-view")))
        self.assertEqual(d.find_element(By.ID, "operator").text, self.server.operator)
        self.wait(lambda d: "live" in d.find_element(By.ID, "live").text)
        self.wait(lambda d: d.find_element(By.ID, "info-plugins").text.startswith("auth_file"))

        # The hostile name: shown as text in the last events, never run or parsed as markup.
        hostile = self.curl("/" + HOSTILE)
        self.assertEqual(hostile.wait(timeout=30), 0, hostile.stderr.read())
        self.wait(lambda d: any(HOSTILE in li.text for li in d.find_elements(By.CSS_SELECTOR, "#events li")))
        self.assertEqual(d.find_elements(By.CSS_SELECTOR, "#events img, #sessions img"), [])
        with self.assertRaises(NoAlertPresentException):
            d.switch_to.alert.text

        # A slow download appears with a moving progress bar.
        download = self.curl("/big.iso", "--limit-rate", "3M")
        row = self.wait(lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, "#sessions tbody tr")
                                         if "big.iso" in r.text), False))
        session = row.get_attribute("data-session")
        self.assertIn(self.server.user, row.text)
        self.assertIn("127.0.0.1", row.text)
        first = self.wait(lambda d: self.bar_width(session) or False)
        later = self.wait(lambda d: (w := self.bar_width(session)) > first + 1 and w, timeout=20)
        self.assertGreater(later, first)
        self.assertLess(later, 100)
        self.assertRegex(self.row_text(session), r"\d+(\.\d+)? MiB/s · \d+ s left")
        if os.environ.get("FERRY_CONSOLE_SCREENSHOT"):
            idle = self.server.ftp()  # a second, idle session in another directory
            self.addCleanup(idle.close)
            idle.cwd("/welcome")
            self.show_a_ban_for_the_screenshot()
            time.sleep(1.2)
            d.save_screenshot(os.environ["FERRY_CONSOLE_SCREENSHOT"])

        # Disconnect from the page: the row goes, curl fails.
        def click_disconnect(d):
            try:
                d.find_element(By.CSS_SELECTOR, f'#sessions tr[data-session="{session}"] button.kick').click()
                return True
            except StaleElementReferenceException:  # redrawn between finding and clicking: again
                return False
        self.wait(click_disconnect)
        self.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, f'#sessions tr[data-session="{session}"]'))
        self.assertNotEqual(download.wait(timeout=30), 0)
        self.wait(lambda d: any("closed" in li.text and f"#{session} " in li.text
                                for li in d.find_elements(By.CSS_SELECTOR, "#events li")))

    def show_a_ban_for_the_screenshot(self):
        d = self.driver
        d.find_element(By.ID, "ban-address").send_keys("203.0.113.9")
        d.find_element(By.ID, "ban-seconds").send_keys("3600")
        d.find_element(By.CSS_SELECTOR, "#ban-form button").click()
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '#bans tr[data-address="203.0.113.9"]'))
        d.find_element(By.ID, "ban-result").click()


if __name__ == "__main__":
    unittest.main()
