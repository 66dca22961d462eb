"""Transforms racing their image's delete: each answers 404 (the image is gone) or the image (made
before the delete), never a 5xx (the contract: under load no valid request fails with one), and no
derived file of the deleted image is left in the cache.

The race a black-box tester found: a worker writing a derived file renamed it into the image's cache
folder that the delete had just moved away (`rename(…) failed: No such file or directory`, a 500),
about one request in 300 of this very pattern.
"""

import random
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import corpus_bytes

# Six cold misses for two roles at once, as the tester sent them: more than the roles' threads,
# so some are still queued, some rendering and some writing when the delete lands.
OPERATIONS = [f"blur:{sigma}" for sigma in range(1, 5)] + ["sharpen:1", "sharpen:2"]
ROUNDS = 60


def test_transforms_racing_a_delete_answer_404_or_the_image(stack, tools):
    original = corpus_bytes("jpeg/exif-orientation/Landscape_1.jpg")
    chooser = random.Random(20261205)
    deleted_ids = []
    answers = []
    served_after_delete = []

    def poll_until_rendered(iid, op, misses):
        """Once the DELETE has answered, every URL of the image is 404, renders still in
        flight or not: a render had put its file in place and only then found the image
        gone, and nginx served it in between (a black-box tester, 4 races in ~60)."""
        while True:
            finished = all(miss.done() for _, miss in misses)
            r = stack.get(f"/images/{iid}/{op}.jpg", timeout=60)
            if r.status_code != 404:
                served_after_delete.append(f"{iid}/{op}: {r.status_code} {r.headers.get('X-Cache')}")
            if finished:
                return

    with ThreadPoolExecutor(max_workers=len(OPERATIONS)) as pool, \
            ThreadPoolExecutor(max_workers=len(OPERATIONS)) as pollers:
        for _ in range(ROUNDS):
            iid = stack.upload_ok(original, "race.jpg", content_type="image/jpeg")["id"]
            misses = [(op, pool.submit(stack.get, f"/images/{iid}/{op}.jpg", timeout=120)) for op in OPERATIONS]
            time.sleep(chooser.uniform(0.030, 0.250))
            r = stack.delete(f"/images/{iid}")
            assert r.status_code == 204, tools.describe(r)
            deleted_ids.append(iid)
            polls = [pollers.submit(poll_until_rendered, iid, op, misses) for op in OPERATIONS]
            answers += [(iid, op, miss.result()) for op, miss in misses]
            for poll in polls:
                poll.result()
    assert not served_after_delete, f"served after the DELETE answered: {served_after_delete[:5]}"

    unexpected = [f"{iid}/{op}: {tools.describe(r)}" for iid, op, r in answers if r.status_code not in (200, 404)]
    assert not unexpected, f"{len(unexpected)} of {len(answers)} answers neither 200 nor 404:\n" + "\n".join(unexpected[:5])
    for iid, op, r in answers:
        if r.status_code == 200:
            assert tools.decode(r.content).format == "JPEG", f"{iid}/{op}"
        else:
            tools.json_error(r, 404, "not_found")

    # The delete removes its files before it answers, a racing worker its own before it
    # answers 404; a moment for a trash folder still being emptied.
    left = _files_naming(stack, deleted_ids)
    assert not left, f"files of deleted images left behind: {left[:5]}"
    for iid in deleted_ids[:3]:
        for op in OPERATIONS:
            tools.json_error(stack.get(f"/images/{iid}/{op}.jpg"), 404, "not_found")


def test_overlays_racing_their_overlay_s_delete_leave_nothing_of_it(stack, tools):
    """The overlay's list of the files made with it (what its delete removes) outlived the
    delete when a render added itself after the delete had read it: a black-box tester
    found `.overlays/{id}` left after 7 of 8 rounds of this pattern."""
    base = stack.upload_ok(corpus_bytes("jpeg/exif-orientation/Landscape_1.jpg"), "base.jpg", "image/jpeg")["id"]
    chooser = random.Random(20261206)
    deleted = []
    with ThreadPoolExecutor(max_workers=len(OPERATIONS)) as pool:
        for _ in range(12):
            overlay = stack.upload_ok(tools.png(tools.gradient(300, 200, seed=90)), "mark.png")["id"]
            misses = [pool.submit(stack.get, f"/images/{base}/{op}/overlay:{overlay},c,0.5.png", timeout=120)
                      for op in OPERATIONS]
            time.sleep(chooser.uniform(0.030, 0.400))
            assert stack.delete(f"/images/{overlay}").status_code == 204
            deleted.append(overlay)
            for miss in misses:
                assert miss.result().status_code in (200, 404)
    left = _files_naming(stack, deleted)
    assert not left, f"files naming deleted overlays left behind: {left[:5]}"


def _files_naming(stack, ids: list[str], within: float = 5) -> list[str]:
    """Files and folders that name any of `ids`, once none do or `within` seconds passed."""
    deadline = time.monotonic() + within
    while True:
        left = [p for iid in ids for p in stack.paths_mentioning(iid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)
