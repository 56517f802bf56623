// One basic-ftp session against ferryd, as a Node.js program would use it: log in (plain
// FTP, or explicit FTPS with FERRY_CA), upload a directory, list it, download it back,
// rename and remove a file. Prints one JSON line of what it saw; exits 1 on any error.
// Usage: node basic_ftp_session.mjs HOST PORT USER LOCAL_DIR BACK_DIR   (password: FERRY_PASSWORD)
import { Client } from "basic-ftp";
import fs from "node:fs";

const [host, port, user, localDir, backDir] = process.argv.slice(2);
const ca = process.env.FERRY_CA;
const client = new Client(20000);
try {
  await client.access({
    host, port: Number(port), user, password: process.env.FERRY_PASSWORD,
    secure: Boolean(ca), secureOptions: ca ? { ca: fs.readFileSync(ca) } : undefined,
  });
  await client.ensureDir("/node");
  await client.uploadFromDir(localDir);
  const listed = (await client.list()).map((entry) => ({ name: entry.name, size: entry.size, dir: entry.isDirectory }));
  await client.downloadToDir(backDir, "/node");
  await client.rename("/node/renamed-by-node.txt", "/node/renamed.txt");
  await client.remove("/node/renamed.txt");
  const after = (await client.list("/node")).map((entry) => entry.name);
  console.log(JSON.stringify({ pwd: await client.pwd(), listed, after }));
} catch (error) {
  console.error(String(error));
  process.exitCode = 1;
} finally {
  client.close();
}
