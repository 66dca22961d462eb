"""The clients against the real stack: the `progimage` CLI (and through it the Swift
client library) and the Python client in clients/python."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import API_KEYS, REPO_ROOT, SIGNING_KEY, Tools

sys.path.insert(0, str(REPO_ROOT / "clients" / "python"))
import progimage  # noqa: E402

CLI = REPO_ROOT / ".build" / "release" / "progimage"


def cli(stack, *args, env=None, check=True) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PROGIMAGE_")}
    environment["PROGIMAGE_URL"] = stack.base_url
    environment.update(env or {})
    r = subprocess.run([str(CLI), *args], env=environment, capture_output=True, timeout=300)
    if check:
        assert r.returncode == 0, f"progimage {' '.join(args)}: {r.returncode} {r.stderr.decode()}"
    return r


@contextlib.contextmanager
def foreign_server(stack):
    """A server in front of the stack's place: `/{status}/…` answers that redirect to the
    stack's `/images`, `/html/…` a proxy's page with a 200. Yields its port."""
    import http.server
    import threading

    class Foreign(http.server.BaseHTTPRequestHandler):
        def answer(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/html"):
                body = b"<html>a proxy's page</html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(int(self.path.strip("/").split("/")[0]))
            self.send_header("Location", stack.base_url + "/images")
            self.send_header("Content-Length", "0")
            self.end_headers()
        do_GET = do_POST = do_DELETE = answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Foreign)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


# ---- the CLI (and the Swift client under it) ------------------------------------------------


def test_cli_upload_info_ls_get_url_rm(stack, tmp_path):
    files = []
    for n in range(3):
        f = tmp_path / f"cli-{n}.png"
        f.write_bytes(Tools.png(Tools.noise(40 + n, 30, seed=n)))
        files.append(f)
    out = cli(stack, "upload", *map(str, files)).stdout.decode().splitlines()
    images = [json.loads(line) for line in out]
    assert sorted(i["filename"] for i in images) == ["cli-0.png", "cli-1.png", "cli-2.png"]
    for image in images:
        Tools.check_image_object(image)
    first = images[0]
    assert json.loads(cli(stack, "info", first["id"]).stdout) == first
    listed = [json.loads(line)["id"] for line in cli(stack, "ls", "--limit", "2").stdout.decode().splitlines()]
    assert len(listed) == 2 and listed == stack.list_all_ids()[:2]
    target = tmp_path / "out.webp"
    cli(stack, "get", first["id"], "--ops", "resize:20x/rotate:-90", "--format", "webp", "-o", str(target))
    assert Image.open(target).format == "WEBP" and Image.open(target).size[1] == 20
    url = cli(stack, "url", first["id"], "--ops", "resize:0020x/rotate:-90", "--format", "jpeg").stdout.decode().strip()
    assert url == f"{stack.base_url}/images/{first['id']}/resize:20x/rotate:270.jpg"
    assert stack.get(url[len(stack.base_url):]).status_code == 200  # canonical: no redirect
    cli(stack, "rm", *[i["id"] for i in images])
    for image in images:
        assert stack.get(f"/images/{image['id']}").status_code == 404


def test_cli_takes_ids_that_begin_with_a_dash(stack):
    # Ids are base64url: about one in 64 begins with "-", which looks like an option. 400
    # uploads missed one in a CI run (a 0.2% chance); 2000 miss with e^-31, and take as
    # long as before on average (64 uploads).
    for n in range(2000):
        image = stack.upload_ok(Tools.png(Tools.noise(4, 4, seed=500 + n)))
        if image["id"].startswith("-"):
            break
    else:
        pytest.fail("no id beginning with '-' in 2000 uploads")
    assert json.loads(cli(stack, "info", image["id"]).stdout)["id"] == image["id"]
    assert cli(stack, "url", image["id"], "--format", "png").stdout.decode().strip().endswith(f"/images/{image['id']}.png")
    cli(stack, "rm", image["id"])
    assert stack.get(f"/images/{image['id']}").status_code == 404


@pytest.mark.parametrize("command", ["get", "info", "rm", "url"])
@pytest.mark.parametrize("missing", ["-oAAAAAAAAAAAAAAA", "-AAAoAAAAAAAAAAA", "-hAAAAAAAAAAAAAAA", "-AAAAAAAAAAAAAAo",
                                     "--oAAAAAAAAAAAAAA", "---AAAAAAAAAAAAA"])
def test_cli_takes_a_dash_id_whose_letters_spell_options(stack, tmp_path, command, missing):
    """An id beginning with `-` had been read as a pack of short options: an `o` anywhere in
    it was `get`'s `-o` without its value (exit 64), about one id in 300, which the test
    above would meet by chance; and the parser refuses three leading dashes outright (one id
    in 4096). Ids nobody uploaded: not found (2), or the URL."""
    extra = {"get": ["--format", "png", "-o", str(tmp_path / "x.png")], "url": ["--format", "png"]}.get(command, [])
    r = cli(stack, command, missing, *extra, check=False)
    if command == "url":
        assert r.returncode == 0 and r.stdout.decode().strip().endswith(f"/images/{missing}.png"), r.stderr
    else:
        assert r.returncode == 2 and b"not_found" in r.stderr, (r.returncode, r.stderr)


def test_cli_exit_codes_name_the_failure(stack, tmp_path):
    r = cli(stack, "info", "AAAAAAAAAAAAAAAAAAAA", check=False)
    assert r.returncode == 2 and b"not_found" in r.stderr
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    r = cli(stack, "upload", str(bad), check=False)
    assert r.returncode == 3 and r.stdout == b""
    r = cli(stack, "get", "AAAAAAAAAAAAAAAAAAAA", "--ops", "resize:0x0", "--format", "png", "-o", str(tmp_path / "x"),
            check=False)
    assert r.returncode == 64
    r = cli(stack, "ls", env={"PROGIMAGE_URL": "http://127.0.0.1:1"}, check=False)
    assert r.returncode == 4


def test_cli_prints_the_image_object_as_the_service_does(stack, tmp_path):
    """`info` printed the decoded struct: a raw upload's `"filename": null` was left out."""
    image = stack.upload_ok(Tools.png(Tools.noise(12, 10, seed=21)))
    assert image["filename"] is None
    assert json.loads(cli(stack, "info", image["id"]).stdout) == image


def test_cli_local_failures_and_huge_expiry_are_not_the_services(stack, tmp_path):
    """Nothing sent, so not exit 3 (the service refused); an expiry past Int.max was a trap."""
    r = cli(stack, "upload", str(tmp_path / "missing.png"), check=False)
    assert r.returncode == 1 and b"cannot read" in r.stderr
    image = stack.upload_ok(Tools.png(Tools.noise(12, 10, seed=22)))
    r = cli(stack, "get", image["id"], "--format", "png", "-o", str(tmp_path / "no" / "such" / "dir.png"), check=False)
    assert r.returncode == 1
    r = cli(stack, "upload-url", "--expires-in", "9223372036854775000", env={"PROGIMAGE_SIGNING_KEY": "k"}, check=False)
    assert r.returncode == 64 and b"Fatal error" not in r.stderr and b"too large" in r.stderr
    r = cli(stack, "info", image["id"], env={"PROGIMAGE_URL": "http://someone:hunter2@127.0.0.1:1"}, check=False)
    assert r.returncode == 4 and b"hunter2" not in r.stderr


def test_cli_get_asks_nothing_of_the_service_for_a_path_it_cannot_write(stack, tmp_path):
    """The output is opened before the request: a path that cannot be written had the
    service render and cache the image first (a black-box probe), then exit 1."""
    image = stack.upload_ok(Tools.png(Tools.noise(12, 10, seed=23)))
    (tmp_path / "adir").mkdir()
    for n, target in enumerate((tmp_path / "no" / "such.png", tmp_path / "adir")):
        r = cli(stack, "get", image["id"], "--ops", f"resize:{5 + n}x", "--format", "png", "-o", str(target), check=False)
        assert r.returncode == 1 and b"cannot write" in r.stderr, r.stderr
        assert stack.get(f"/images/{image['id']}/resize:{5 + n}x.png").headers["X-Cache"] == "MISS"


def test_cli_get_writes_into_what_is_not_a_regular_file_and_through_links(stack, tmp_path):
    """`-o /dev/null` as root renamed a temporary file over the device: /dev/null became a
    regular file, and the machine's next `initdb` failed (a black-box probe). Whatever is
    not a regular file (a device, a FIFO) is written in place; a symbolic link is followed,
    as the shell's `>` follows it; a regular file is replaced whole, keeping its mode."""
    import stat
    import threading
    image = stack.upload_ok(Tools.png(Tools.noise(12, 10, seed=24)))
    expected = stack.get(f"/images/{image['id']}.png").content
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    try:
        cli(stack, "get", image["id"], "--format", "png", "-o", str(fifo))
        reader.join(30)
    finally:
        if reader.is_alive():  # the CLI never opened it: let the reader go
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert received == [expected] and stat.S_ISFIFO(fifo.lstat().st_mode)
    if os.geteuid() == 0:  # a device node needs CAP_MKNOD; the FIFO above takes the same path
        device = tmp_path / "null"
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        cli(stack, "get", image["id"], "--format", "png", "-o", str(device))
        assert stat.S_ISCHR(device.lstat().st_mode)
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.png"
    link.symlink_to(real.name)
    cli(stack, "get", image["id"], "--format", "png", "-o", str(link))
    assert link.is_symlink() and real.read_bytes() == expected and stat.S_IMODE(real.stat().st_mode) == 0o640
    # A dangling link: its target is made, as `>` makes it.
    dangling = tmp_path / "dangling.png"
    dangling.symlink_to("made.png")
    cli(stack, "get", image["id"], "--format", "png", "-o", str(dangling))
    assert dangling.is_symlink() and (tmp_path / "made.png").read_bytes() == expected
    # /dev/stdout is the descriptor, whatever it leads to: a file opened for appending keeps
    # what it had (resolved to the file and renamed over, it had lost it).
    log = tmp_path / "log"
    log.write_bytes(b"header\n")
    with open(log, "ab") as appended:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PROGIMAGE_")}
        environment["PROGIMAGE_URL"] = stack.base_url
        subprocess.run([str(CLI), "get", image["id"], "--format", "png", "-o", "/dev/stdout"], env=environment,
                       stdout=appended, check=True, timeout=60)
    assert log.read_bytes() == b"header\n" + expected
    # A relative path, new, gets 0666 less the umask.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PROGIMAGE_")}
    environment["PROGIMAGE_URL"] = stack.base_url
    subprocess.run(["sh", "-c", f"umask 027 && exec {CLI} get {image['id']} --format png -o relative.png"],
                   env=environment, cwd=tmp_path, check=True, timeout=60)
    assert stat.S_IMODE((tmp_path / "relative.png").stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".progimage-")]


@pytest.mark.parametrize("command", ["info", "get", "url", "rm"])
def test_cli_takes_a_double_dash_before_the_id(stack, tmp_path, command):
    """`--` ends the options, as scripts write it: it was "name exactly one image id"."""
    image = stack.upload_ok(Tools.png(Tools.noise(12, 10, seed=25)))
    extra = {"get": ["--format", "png", "-o", str(tmp_path / "x.png")], "url": ["--format", "png"]}.get(command, [])
    cli(stack, command, *extra, "--", image["id"])
    if command == "rm":
        assert stack.get(f"/images/{image['id']}").status_code == 404


def test_cli_messages_never_repeat_a_key_or_a_password(stack):
    """An option a command does not take is collected as a word (ids may begin with `-`),
    and its refusal repeated it whole: `rm --signing-key=S3CR3T …` printed the key. A
    `--server` that does not parse printed its password."""
    for args in (("rm", "--signing-key=S3CR3T", "AAAAAAAAAAAAAAAA"), ("info", "--apikey=S3CR3T"),
                 ("url", "--apikey=S3CR3T", "--format", "png"),
                 ("info", "AAAAAAAAAAAAAAAA", "--server", "ftp://user:S3CR3T@127.0.0.1:1"),
                 ("info", "AAAAAAAAAAAAAAAA", "--server", "http://user:S3CR3T@127.0.0.1:notaport"),
                 ("ls", "--server", "http://user:S3CR3T@[::1"), ("ls", "--server", "http://u:#S3CR3T@host:x"),
                 ("ls", "--server", "http://u:/S3CR3T@host:x")):
        r = cli(stack, *args, check=False)
        assert r.returncode == 64 and b"S3CR3T" not in r.stderr + r.stdout, (args, r.stderr)
    r = cli(stack, "info", "AAAAAAAAAAAAAAAA", env={"PROGIMAGE_URL": "http://user:S3CR3T@127.0.0.1:99999"}, check=False)
    assert r.returncode == 64 and b"S3CR3T" not in r.stderr
    # A header cannot hold a line break: the key was dropped and the answer a bare 401.
    r = cli(stack, "rm", "AAAAAAAAAAAAAAAA", env={"PROGIMAGE_API_KEY": "S3CR3T\nmore"}, check=False)
    assert r.returncode == 64 and b"line break" in r.stderr and b"S3CR3T" not in r.stderr
    # Nor can a signing key the service would hold: every signed URL was a 403.
    r = cli(stack, "url", "AAAAAAAAAAAAAAAA", "--format", "png", env={"PROGIMAGE_SIGNING_KEY": "S3CR3T\n"}, check=False)
    assert r.returncode == 64 and b"line break" in r.stderr and b"S3CR3T" not in r.stderr
    # An upper-case scheme is a URL like any other; an empty PROGIMAGE_URL is no URL at all.
    image = stack.upload_ok(Tools.png(Tools.noise(12, 10, seed=26)))
    assert json.loads(cli(stack, "info", image["id"], "--server", "HTTP" + stack.base_url[4:]).stdout)["id"] == image["id"]
    r = cli(stack, "info", image["id"], env={"PROGIMAGE_URL": ""}, check=False)
    assert r.returncode != 64, r.stderr  # the default server, wherever that leads


def test_cli_upload_or_rm_answered_with_a_redirect_fails_and_names_it(stack, tmp_path):
    """libcurl repeated an upload answered 301/302/303 without its body: "400 empty_body"
    from the place it led to (a black-box probe). A write follows no redirect now."""
    f = tmp_path / "r.png"
    f.write_bytes(Tools.png(Tools.noise(8, 8, seed=28)))
    before = len(stack.list_all_ids())
    with foreign_server(stack) as port:
        for status in (301, 302, 303, 307, 308):
            server = f"http://127.0.0.1:{port}/{status}"
            for args in (("upload", str(f)), ("rm", "AAAAAAAAAAAAAAAA")):
                r = cli(stack, *args, "--server", server, check=False)
                assert r.returncode == 1 and b"redirect" in r.stderr, (status, args, r.stderr)
    assert len(stack.list_all_ids()) == before


def test_cli_get_and_rm_take_no_foreign_200_for_success(stack, tmp_path):
    """A proxy's page answered 200 had been written out as the image (exit 0, over an
    existing file) and taken for a delete (a black-box probe): get wants a 200 image,
    rm a 204."""
    out = tmp_path / "kept.png"
    out.write_bytes(b"the old file")
    with foreign_server(stack) as port:
        server = f"http://127.0.0.1:{port}/html"
        r = cli(stack, "get", "AAAAAAAAAAAAAAAA", "--format", "png", "-o", str(out), "--server", server, check=False)
        assert r.returncode == 1 and b"expected an image" in r.stderr, r.stderr
        assert out.read_bytes() == b"the old file"
        r = cli(stack, "get", "AAAAAAAAAAAAAAAA", "--format", "png", "-o", "-", "--server", server, check=False)
        assert r.returncode == 1 and not r.stdout, (r.returncode, r.stdout[:100])
        r = cli(stack, "rm", "AAAAAAAAAAAAAAAA", "--server", server, check=False)
        assert r.returncode == 1 and b"expected 204" in r.stderr, r.stderr


def test_cli_waits_for_an_answer_without_spinning(stack):
    """URLSession on Linux spun a core while it waited (4.8 s of CPU in 6 s on a server that
    never answers); libcurl's easy interface waits in poll."""
    import resource
    import socket
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PROGIMAGE_")}
        environment["PROGIMAGE_URL"] = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(subprocess.TimeoutExpired):
            subprocess.run([str(CLI), "info", "AAAAAAAAAAAAAAAAAAAA"], env=environment, capture_output=True, timeout=3)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        silent.close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 0.5, f"{cpu:.2f} s of CPU in 3 s of waiting"


def test_cli_uses_keys_from_the_environment(secure_stack, tmp_path):
    f = tmp_path / "k.png"
    f.write_bytes(Tools.png(Tools.noise(10, 10)))
    assert cli(secure_stack, "upload", str(f), check=False).returncode == 3  # 401
    image = json.loads(cli(secure_stack, "upload", str(f), env={"PROGIMAGE_API_KEY": API_KEYS[0]}).stdout)
    url = cli(secure_stack, "url", image["id"], "--ops", "resize:5x", "--format", "png",
              env={"PROGIMAGE_SIGNING_KEY": SIGNING_KEY}).stdout.decode().strip()
    r = secure_stack.get(url[len(secure_stack.base_url):])
    assert r.status_code == 200 and Image.open(__import__("io").BytesIO(r.content)).width == 5


def test_both_clients_make_signed_auto_links(secure_stack, tmp_path):
    """`.auto` needs the signature of its own path with signing on, and neither client
    could make one (`--format auto` was an unknown format; a black-box tester). Both print
    the canonical `.auto` path (a `quality` allowed), signed; the CLI's `get` follows it."""
    client = progimage.Client(secure_stack.base_url, api_key=API_KEYS[1], signing_key=SIGNING_KEY)
    image = client.upload(Tools.png(Tools.noise(30, 20, mode="RGBA", seed=33)))
    env = {"PROGIMAGE_SIGNING_KEY": SIGNING_KEY}
    cli_url = cli(secure_stack, "url", image.id, "--ops", "resize:010x/quality:70", "--format", "auto", env=env).stdout.decode().strip()
    python_url = client.url(image.id, "resize:010x/quality:70", "auto")
    assert cli_url == python_url and f"/images/{image.id}/resize:10x/quality:70.auto?sig=" in cli_url, (cli_url, python_url)
    r = secure_stack.get(cli_url[len(secure_stack.base_url):], headers={"Accept": "image/webp"})
    assert r.status_code == 302 and r.headers["Location"].startswith(f"/images/{image.id}/resize:10x/quality:70.webp?sig="), Tools.describe(r)
    out = tmp_path / "auto.img"
    cli(secure_stack, "get", image.id, "--ops", "resize:10x", "--format", "auto", "-o", str(out), env=env)
    assert Image.open(out).size == (10, 7) and Image.open(out).format == "PNG"  # alpha, no Accept: png


def test_links_never_carry_the_base_urls_password(secure_stack, tmp_path):
    """A link is for a page or a message: `progimage url` and Python's `url()` against
    `http://user:pw@host` had handed out the password (a black-box probe). Fetching
    through the client still works."""
    client = progimage.Client(secure_stack.base_url, api_key=API_KEYS[1], signing_key=SIGNING_KEY)
    image = client.upload(Tools.png(Tools.noise(12, 12, seed=31)))
    with_password = secure_stack.base_url.replace("http://", "http://someone:S3CR3T@")
    env = {"PROGIMAGE_SIGNING_KEY": SIGNING_KEY, "PROGIMAGE_API_KEY": API_KEYS[0]}
    links = [cli(secure_stack, "url", image.id, "--ops", "resize:5x", "--format", "png", "--server", with_password, env=env),
             cli(secure_stack, "upload-url", "--server", with_password, env=env)]
    links = [r.stdout.decode().strip() for r in links]
    python = progimage.Client(with_password, api_key=API_KEYS[1], signing_key=SIGNING_KEY)
    links += [python.url(image.id, "resize:5x", "png"), python.upload_url(expires=int(time.time()) + 60)]
    for link in links:
        assert link.startswith(secure_stack.base_url + "/images") and "S3CR3T" not in link, link
    assert secure_stack.get(links[0][len(secure_stack.base_url):]).status_code == 200
    assert Image.open(io.BytesIO(python.fetch(image.id, "resize:5x", "png"))).width == 5
    out = tmp_path / "five.png"
    cli(secure_stack, "get", image.id, "--ops", "resize:5x", "--format", "png", "-o", str(out), "--server", with_password, env=env)
    assert Image.open(out).width == 5


def test_cli_mints_signed_upload_urls(secure_stack):
    url = cli(secure_stack, "upload-url", "--max-bytes", "100000", env={"PROGIMAGE_SIGNING_KEY": SIGNING_KEY}).stdout.decode().strip()
    assert url.startswith(f"{secure_stack.base_url}/images?expires=") and "&max_bytes=100000&sig=" in url
    r = secure_stack.post(url[len(secure_stack.base_url):], data=Tools.png(Tools.noise(8, 8, seed=77)),
                          headers={"Content-Type": "image/png"})
    assert r.status_code == 201, Tools.describe(r)
    assert cli(secure_stack, "upload-url", check=False).returncode == 64  # no signing key


def test_cli_uploads_200_files_eight_at_a_time(stack, tmp_path):
    files = []
    for n in range(200):
        f = tmp_path / f"many-{n:03}.png"
        f.write_bytes(Tools.png(Tools.noise(24, 24, seed=1000 + n)))
        files.append(str(f))
    started = time.monotonic()
    out = cli(stack, "upload", "--concurrency", "8", *files).stdout.decode().splitlines()
    elapsed = time.monotonic() - started
    images = [json.loads(line) for line in out]
    assert len(images) == 200 and len({i["id"] for i in images}) == 200
    assert {i["filename"] for i in images} == {Path(f).name for f in files}
    print(f"\nprogimage upload --concurrency 8: 200 files in {elapsed:.2f} s ({200 / elapsed:.0f} images/s)")


def test_cli_uploads_from_standard_input_and_pipes(stack, tmp_path):
    """`Data(contentsOf:)` refused `/dev/stdin` and `<(…)` ("You don't have permission");
    `-` reads standard input, sending no filename."""
    data = Tools.png(Tools.noise(12, 12, seed=31))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PROGIMAGE_")}
    environment["PROGIMAGE_URL"] = stack.base_url
    for args, filename in ((["-"], None), (["/dev/stdin"], "stdin")):
        r = subprocess.run([str(CLI), "upload", *args], input=data, env=environment, capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        image = json.loads(r.stdout)
        assert image["sha256"] == Tools.sha256(data) and image["filename"] == filename, image
    r = subprocess.run([str(CLI), "upload", "-", "-"], input=data, env=environment, capture_output=True, timeout=60)
    assert r.returncode == 64, r.stderr


def test_cli_upload_prints_its_lines_in_the_files_order(stack, tmp_path):
    """The JSON lines came in the order the uploads finished, each naming only the file's
    last path component: `a/x.png` and `b/x.png` could not be told apart (a probe). A
    large file first finishes last; its line still comes first, and a failed file has none."""
    files = []
    for n, side in enumerate((900, 8, 8, 600, 8)):
        folder = tmp_path / f"d{n}"
        folder.mkdir()
        f = folder / "x.png"
        f.write_bytes(Tools.png(Tools.noise(side, side, seed=1100 + n)))
        files.append(f)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    order = [str(files[0]), str(broken), *map(str, files[1:])]
    r = cli(stack, "upload", "--concurrency", "6", *order, check=False)
    assert r.returncode == 3, r.stderr
    lines = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [i["sha256"] for i in lines] == [Tools.sha256(f.read_bytes()) for f in files]


def test_cli_uploads_a_file_whose_name_begins_with_a_dash(stack, tmp_path):
    """`upload a.png -photo.png` read `-photo.png` as a pack of short options holding `-h`:
    it printed the help, uploaded nothing and exited 0 (a black-box tester), so `upload *.jpg`
    in a folder with such a file did nothing and said it succeeded. An existing file is the
    file; a name that is no file is still an unknown option (64), and `-h` the help."""
    for name, seed in (("a.png", 1200), ("-photo.png", 1201), ("-h2.png", 1202)):
        (tmp_path / name).write_bytes(Tools.png(Tools.noise(9, 9, seed=seed)))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PROGIMAGE_")}
    environment["PROGIMAGE_URL"] = stack.base_url

    def run(*args):
        return subprocess.run([str(CLI), *args], env=environment, cwd=tmp_path, capture_output=True, timeout=120)

    r = run("upload", "a.png", "-photo.png", "-h2.png")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [i["filename"] for i in lines] == ["a.png", "-photo.png", "-h2.png"], r.stdout
    assert [i["sha256"] for i in lines] == [Tools.sha256((tmp_path / n).read_bytes()) for n in ("a.png", "-photo.png", "-h2.png")]
    assert run("upload", "a.png", "-missing.png").returncode == 64
    assert b"USAGE" in run("upload", "-h").stdout


def test_cli_refuses_a_name_that_is_not_utf8_rather_than_use_another_file(stack, tmp_path):
    """`CommandLine.arguments` turns each byte that is not UTF-8 into U+FFFD: `upload
    photo\\xe9.png` uploaded `photo\ufffd.png` when that existed, and `get -o` overwrote it,
    both with exit 0 (a black-box tester). Such an argument is refused: exit 1, nothing
    sent, no file written."""
    raw, lookalike = os.fsencode(tmp_path) + b"/photo\xe9.png", tmp_path / "photo\ufffd.png"
    with open(raw, "wb") as f:
        f.write(Tools.png(Tools.noise(10, 10, seed=1300)))
    lookalike.write_bytes(Tools.png(Tools.noise(30, 20, seed=1301)))
    before = stack.list_all_ids()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PROGIMAGE_")}
    environment["PROGIMAGE_URL"] = stack.base_url
    r = subprocess.run([bytes(CLI), b"upload", raw], env=environment, capture_output=True, timeout=60)
    assert r.returncode == 1 and b"not valid UTF-8" in r.stderr, r
    assert stack.list_all_ids() == before
    image = stack.upload_ok(Tools.png(Tools.noise(8, 8, seed=1302)))
    target = os.fsencode(tmp_path) + b"/out\xe9.png"
    kept = lookalike.read_bytes()
    r = subprocess.run([bytes(CLI), b"get", image["id"].encode(), b"-o", target], env=environment, capture_output=True, timeout=60)
    assert r.returncode == 1 and not os.path.exists(target) and lookalike.read_bytes() == kept, r
    # A PROGIMAGE_* variable so spelt would name another key or server: refused as well.
    raw_env = {os.fsencode(k): os.fsencode(v) for k, v in environment.items()} | {b"PROGIMAGE_SIGNING_KEY": b"sk\xe9"}
    r = subprocess.run([bytes(CLI), b"url", image["id"].encode(), b"--format", b"png"], env=raw_env, capture_output=True, timeout=60)
    assert r.returncode == 1 and b"PROGIMAGE_SIGNING_KEY is not valid UTF-8" in r.stderr and not r.stdout, r


# ---- the Python client --------------------------------------------------------------------


def test_python_client_round_trip(stack, tmp_path):
    client = progimage.Client(stack.base_url)
    path = tmp_path / "py.png"
    data = Tools.png(Tools.noise(60, 40, seed=5))
    path.write_bytes(data)
    image = client.upload(str(path))
    assert (image.width, image.height, image.format, image.filename) == (60, 40, "png", "py.png")
    assert client.get(image.id) == image
    from_bytes = client.upload(data)
    assert from_bytes.sha256 == image.sha256 and from_bytes.id != image.id
    several = client.upload_many([data, data])
    assert len(several) == 2
    ids = [i.id for i in client.list(limit=2)]
    assert ids[:4] == stack.list_all_ids()[:4]
    assert client.fetch(image.id, ["resize:30x"], "png")[:8] == b"\x89PNG\r\n\x1a\n"
    client.delete(image.id)
    with pytest.raises(progimage.ProgimageError) as failure:
        client.get(image.id)
    assert failure.value.status == 404 and failure.value.code == "not_found"


def test_python_client_refuses_what_is_not_an_id_and_keeps_a_zero_limit(stack):
    """`delete("x/../{id}")` deleted `{id}`; `upload_url(max_bytes=0)` dropped the limit."""
    client = progimage.Client(stack.base_url, signing_key="k")
    image = client.upload(Tools.png(Tools.noise(8, 8, seed=23)))
    for bad in ("AAAAAAAAAAAAAAAAAAAA/../" + image.id, "short", image.id + "/x"):
        with pytest.raises(ValueError):
            client.delete(bad)
        with pytest.raises(ValueError):
            client.url(bad, "resize:5x", "png")
    assert client.get(image.id).id == image.id
    with pytest.raises(ValueError):
        client.upload_url(expires=int(time.time()) + 60, max_bytes=0)


def test_a_form_filename_is_decoded_as_browsers_encode_it(stack):
    """The HTML standard writes `"`, CR and LF in a form part's filename as %22, %0D and %0A
    (as requests does): stored as `we ird%22name é.png` before."""
    r = stack.post("/images", files=[("file", ('we ird"name é.png', Tools.png(Tools.noise(6, 6, seed=24)), "image/png"))])
    assert r.status_code == 201, Tools.describe(r)
    assert r.json()["filename"] == 'we ird"name é.png'


@pytest.mark.parametrize("ops,fmt", [
    ("resize:0200x/rotate:-90", "jpeg"), ("blur:2.50/flip:vh", "png"), ("quality:70/resize:x050", "webp"),
    ("crop:010,0,20,20/sharpen:05", "tif"), ("rotate:450/grayscale", "gif"), ("", "jpeg"),
    ("resize:40x40,fill,c/pad:1,02,3,4,FF0000", "png"), ("resize:40x30,pad,00FF0080", "webp"),
    ("resize:40x40,fill,smart", "jpg"), ("rotate:3600000000", "png"), ("crop:0,0,3000000000,10", "png"),
    ("blur:+1", "png"), ("blur:0.1000/sharpen:10.0000", "png"),
])
def test_python_urls_are_the_servers_canonical_ones(stack, ops, fmt):
    image = stack.upload_ok(Tools.png(Tools.noise(80, 60, seed=9)))
    client = progimage.Client(stack.base_url)
    built = client.url(image["id"], ops, fmt)
    raw = f"/images/{image['id']}" + (f"/{ops}" if ops else "") + f".{fmt}"
    expected = raw
    for _ in range(3):  # an alias extension (.jpeg) and non-canonical operations: two hops
        r = stack.get(expected)
        if r.status_code != 301:
            break
        expected = stack.location(r)
    assert built == stack.base_url + expected
    assert stack.get(expected).status_code == 200


@pytest.mark.parametrize("ops", ["blur:0.1005", "grayscale:", "resize:100x100,pad,", "resize:100x100,fill,",
                                 " resize:10x", "resize:10x,",
                                 # Other scripts' digits, which `\\d` and int() take (a probe).
                                 "resize:２００x", "rotate:٩٠", "blur:２.５", "crop:0,0,１0,10", "quality:８０"])
def test_python_refuses_what_the_server_refuses(stack, ops):
    """Spellings the server answers 400 were turned into valid URLs by the client."""
    image = stack.upload_ok(Tools.png(Tools.noise(20, 20, seed=25)))
    assert stack.get(f"/images/{image['id']}/{ops}.png").status_code == 400
    with pytest.raises(ValueError):
        progimage.Client(stack.base_url).url(image["id"], ops, "png")


def test_python_client_never_takes_a_redirected_write_or_a_foreign_answer_for_success(stack):
    """requests turns a POST answered 301, 302 or 303 into a GET: an upload behind an
    http→https redirect returned the first page of the list as its images, nothing stored
    (a black-box probe). A 200 that is not the service's JSON raised JSONDecodeError."""
    with foreign_server(stack) as port:
        data = Tools.png(Tools.noise(8, 8, seed=27))
        for status in (301, 302, 303, 307, 308):
            client = progimage.Client(f"http://127.0.0.1:{port}/{status}")
            for call in (lambda: client.upload(data), lambda: client.upload_many([data, data]),
                         lambda: client.delete("AAAAAAAAAAAAAAAA")):
                with pytest.raises(progimage.ProgimageError) as failure:
                    call()
                assert failure.value.status == status
        html = progimage.Client(f"http://127.0.0.1:{port}/html")
        for call in (lambda: html.upload(data), lambda: html.get("AAAAAAAAAAAAAAAA"), lambda: list(html.list()),
                     lambda: html.delete("AAAAAAAAAAAAAAAA"), lambda: html.fetch("AAAAAAAAAAAAAAAA", [], "png")):
            with pytest.raises(progimage.ProgimageError):
                call()
    # Bytes have no name, in one upload or several; a base URL must be one.
    client = progimage.Client(stack.base_url)
    assert [i.filename for i in client.upload_many([data, data])] == [None, None]
    for bad in ("not a url", "ftp://host", "http://", "http://h:abc", "http://h:99999", "http://h:0"):
        with pytest.raises(ValueError):
            progimage.Client(bad)


def test_python_signed_urls_and_upload_urls(secure_stack):
    client = progimage.Client(secure_stack.base_url, api_key=API_KEYS[1], signing_key=SIGNING_KEY)
    image = client.upload(Tools.png(Tools.noise(30, 30)))
    url = client.url(image.id, "resize:10x/rotate:-90", "webp")
    assert "?sig=" in url
    assert secure_stack.get(url[len(secure_stack.base_url):]).status_code == 200
    upload = client.upload_url(expires=int(time.time()) + 60, max_bytes=100_000)
    r = secure_stack.post(upload[len(secure_stack.base_url):], data=Tools.png(Tools.noise(8, 8)),
                          headers={"Content-Type": "image/png"})
    assert r.status_code == 201, Tools.describe(r)
    with pytest.raises(ValueError):
        client.url(image.id, "resize:0x0", "png")


def test_python_sends_its_key_whatever_the_url_or_netrc_hold(secure_stack, tmp_path, monkeypatch):
    """requests replaced the Authorization header with Basic auth from a `user:pass@` base
    URL or ~/.netrc: every write was a 401 (a black-box probe). A key with a line break was
    repeated in requests' message and reported as the service being unavailable."""
    data = Tools.png(Tools.noise(8, 8, seed=29))
    with_password = secure_stack.base_url.replace("http://", "http://someone:pw@")
    image = progimage.Client(with_password, api_key=API_KEYS[1]).upload(data)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login me password netrcpw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    client = progimage.Client(secure_stack.base_url, api_key=API_KEYS[1])
    assert client.upload(data).sha256 == image.sha256
    client.delete(image.id)
    for key in ("k1\n", "secret\r\nX-Other: y", "tab\there"):
        with pytest.raises(ValueError) as refused:
            progimage.Client(secure_stack.base_url, api_key=key)
        assert key.split("\n")[0].split("\t")[0] not in str(refused.value)


def test_clients_print_presets_and_overlays_as_the_server_serves_them(stack_factory):
    """A preset is the server's to expand: both clients print `preset:{name}` as written
    (the CLI knew no preset and refused it); the Python client knows `overlay:` and prints
    it without its defaults; a decimal the server refuses (`1e0`) is refused here too."""
    stack = stack_factory({"PROGIMAGE_PRESETS": "thumb=resize:20x20,fill/quality:70"})
    image = stack.upload_ok(Tools.png(Tools.noise(60, 40, seed=11)))
    mark = stack.upload_ok(Tools.png(Tools.noise(10, 10, seed=12)))
    client = progimage.Client(stack.base_url)
    i, m = image["id"], mark["id"]
    for ops, fmt, canonical in [
        ("preset:thumb", "webp", f"/images/{i}/preset:thumb.webp"),
        (f"overlay:{m},se,1.0/resize:030x", "png", f"/images/{i}/overlay:{m}/resize:30x.png"),
        (f"overlay:{m},c,0.50", "jpeg", f"/images/{i}/overlay:{m},c,0.5.jpg"),
        (f"quality:60/overlay:{m},nw", "jpg", f"/images/{i}/overlay:{m},nw/quality:60.jpg"),
    ]:
        built = client.url(i, ops, fmt)
        assert built == stack.base_url + canonical
        r = stack.get(canonical)
        assert r.status_code == 200, Tools.describe(r)  # canonical: served, no redirect
    url = cli(stack, "url", i, "--ops", "preset:thumb", "--format", "webp").stdout.decode().strip()
    assert url == f"{stack.base_url}/images/{i}/preset:thumb.webp"
    for bad in ("blur:1e0", "blur:-1", "overlay:short", f"overlay:{m},x", f"overlay:{m},se,0.005", "preset:Thumb"):
        with pytest.raises(ValueError):
            client.url(i, bad, "png")


def test_cli_says_so_when_standard_output_cannot_be_written(stack):
    """`progimage info ID > /dev/full` trapped in Foundation's FileHandle with a stack trace
    and SIGILL (a black-box tester); an upload's id was lost the same way."""
    image = stack.upload_ok(Tools.png(Tools.noise(12, 10, seed=27)))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PROGIMAGE_")}
    environment["PROGIMAGE_URL"] = stack.base_url
    for args in (("info", image["id"]), ("get", image["id"], "--format", "bmp", "-o", "-")):
        with open("/dev/full", "wb") as full:
            r = subprocess.run([str(CLI), *args], env=environment, stdout=full, stderr=subprocess.PIPE, timeout=60)
        assert r.returncode == 1 and b"cannot write standard output" in r.stderr, (args, r.returncode, r.stderr[-300:])
        assert b"Fatal error" not in r.stderr


def test_clients_stop_when_a_list_hands_back_a_cursor_again(stack, tmp_path):
    """A server (or proxy) that answers every page with the same `next_cursor` had both
    clients page for ever (the CLI printed one image 26,942 times in 20 s; a black-box
    tester). Both stop with an error once a cursor comes back."""
    import http.server
    import threading
    image = stack.get(f"/images/{stack.upload_ok(Tools.png(Tools.noise(8, 8, seed=28)))['id']}").json()
    page = json.dumps({"images": [image], "next_cursor": "again"}).encode()

    class Looping(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Looping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(progimage.ProgimageError):
            images = list(progimage.Client(url).list(limit=1))
            assert len(images) < 10
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PROGIMAGE_")}
        r = subprocess.run([str(CLI), "ls", "--server", url, "--limit", "1000"], env=environment, capture_output=True, timeout=60)
        assert r.returncode != 0 and r.stdout.count(b"\n") < 10, (r.returncode, r.stdout[-200:], r.stderr[-300:])
    finally:
        server.shutdown()
    # A file object made from a descriptor has a number for a name: uploaded without one.
    import tempfile
    with tempfile.TemporaryFile() as f:
        f.write(Tools.png(Tools.noise(8, 8, seed=29)))
        f.seek(0)
        assert progimage.Client(stack.base_url).upload(f).filename is None
