"""Delivery features (API.md, "Delivery features"): `.auto` and the BlurHash placeholder."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io

import blurhash
import pytest
from PIL import Image, ImageChops, ImageStat

from conftest import API_KEYS, SIGNING_KEY, Tools


# ---- BlurHash ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(640, 400), (90, 300), (5, 5)])
def test_blurhash_matches_the_reference_implementation(stack, size):
    photo = Image.radial_gradient("L").resize(size).convert("RGB")
    photo = Image.merge("RGB", (photo.getchannel(0), photo.getchannel(0).rotate(90), Tools.noise(*size, seed=4).getchannel(2)))
    image = stack.upload_ok(Tools.png(photo))
    ours = image["blurhash"]
    assert blurhash.is_valid_blurhash(ours), ours
    assert len(ours) == 28  # 4×3 components: 1 + 1 + 4 + 2 × 11
    reference = blurhash.encode(photo.copy(), 4, 3)  # Wolt's C implementation, full resolution
    a = blurhash.decode(ours, 32, 32).convert("RGB")
    b = blurhash.decode(reference, 32, 32).convert("RGB")
    difference = ImageStat.Stat(ImageChops.difference(a, b)).mean
    assert max(difference) < 8, (ours, reference, difference)


def test_blurhash_is_of_the_upright_image(stack):
    # Left half red, right half blue, stored rotated by EXIF orientation 6 (90° clockwise):
    # upright, the top is red and the bottom blue.
    upright = Image.new("RGB", (120, 80), (220, 20, 20))
    upright.paste((20, 20, 220), (0, 40, 120, 80))
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, "JPEG", exif=exif, quality=95)
    image = stack.upload_ok(buf.getvalue(), content_type="image/jpeg")
    assert (image["width"], image["height"]) == (120, 80)
    placeholder = blurhash.decode(image["blurhash"], 12, 8).convert("RGB")
    top, bottom = placeholder.getpixel((6, 0)), placeholder.getpixel((6, 7))
    assert top[0] > top[2] and bottom[2] > bottom[0], (top, bottom)


# ---- .auto ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def opaque(stack):
    return stack.upload_ok(Tools.png(Tools.noise(120, 80, seed=31)))


@pytest.fixture(scope="module")
def translucent(stack):
    return stack.upload_ok(Tools.png(Tools.noise(120, 80, mode="RGBA", seed=32)))


@pytest.mark.parametrize("accept,ext", [
    ("image/avif,image/webp,image/apng,image/*,*/*;q=0.8", "avif"),   # Chrome
    ("image/webp,*/*", "webp"),                                     # older Firefox
    ("image/avif;q=0,image/webp;q=0.5", "webp"),
    ("image/*,*/*;q=0.8", "jpg"),                                   # wildcards name no format
    ("", "jpg"),
    ("image/AVIF", "avif"),
])
def test_auto_redirects_to_what_accept_asks_for(stack, opaque, accept, ext):
    r = stack.get(f"/images/{opaque['id']}/resize:60x.auto?x=1", headers={"Accept": accept})
    assert r.status_code == 302, Tools.describe(r)
    assert r.headers["Location"] == f"/images/{opaque['id']}/resize:60x.{ext}?x=1"
    assert r.headers["Vary"] == "Accept" and r.headers["Cache-Control"] == "public, max-age=86400"
    target = stack.get(r.headers["Location"])
    assert target.status_code == 200 and "Vary" not in target.headers  # image bytes never vary
    assert Image.open(io.BytesIO(target.content)).size[0] == 60


def test_auto_prefers_png_for_images_with_alpha(stack, opaque, translucent):
    r = stack.get(f"/images/{translucent['id']}.auto", headers={"Accept": "image/*"})
    assert r.headers["Location"] == f"/images/{translucent['id']}.png"
    r = stack.get(f"/images/{translucent['id']}.auto", headers={"Accept": "image/webp"})
    assert r.headers["Location"] == f"/images/{translucent['id']}.webp"
    r = stack.get(f"/images/{opaque['id']}.auto", headers={"Accept": "image/*"})
    assert r.headers["Location"] == f"/images/{opaque['id']}.jpg"


def test_auto_canonicalises_and_refuses_like_other_urls(stack, opaque):
    r = stack.get(f"/images/{opaque['id']}/rotate:-90/resize:040x.auto", headers={"Accept": "image/webp"})
    assert r.headers["Location"] == f"/images/{opaque['id']}/rotate:270/resize:40x.webp"
    Tools.json_error(stack.get(f"/images/{opaque['id']}/resize:0x0.auto"), 400, "bad_operation")
    Tools.json_error(stack.get("/images/AAAAAAAAAAAAAAAAAAAA.auto"), 404, "not_found")


def sign(path: str) -> str:
    mac = hmac.new(SIGNING_KEY.encode(), path.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def test_signed_auto_needs_its_own_signature_and_signs_its_target(secure_stack):
    image = secure_stack.upload_ok(Tools.png(Tools.noise(50, 50, seed=33)),
                                   headers={"Authorization": f"Bearer {API_KEYS[0]}"})
    auto = f"/images/{image['id']}/resize:20x.auto"
    Tools.json_error(secure_stack.get(auto, headers={"Accept": "image/webp"}), 403, "bad_signature")
    r = secure_stack.get(f"{auto}?sig={sign(auto)}", headers={"Accept": "image/webp"})
    target = f"/images/{image['id']}/resize:20x.webp"
    assert r.status_code == 302 and r.headers["Location"] == f"{target}?sig={sign(target)}"
    assert secure_stack.get(r.headers["Location"]).status_code == 200
