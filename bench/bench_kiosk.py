"""Kiosk benchmark: server time and bytes per screen, and time from a touch to the next screen
painted in Chromium.

The real app (``channels:create_app()``) under gunicorn (gthread) on SQLite, with the real
speech service (espeak-ng). A warm-up walk first lets the read-aloud clips of every screen be
synthesised in the background, as the start-up pre-render would in service, so that synthesis
does not share the CPU with what is measured.

  * server: a visitor over plain HTTP (no browser) walks every procedure from the welcome screen
    to its end, ``--rounds`` times: each touch is ``POST /kiosk/<id>/touch`` (303), then
    ``GET /kiosk/<id>/`` (the screen). Times are round trips on loopback, so server time plus
    a few tens of microseconds.
  * chromium: headless Chromium (Playwright, /usr/bin/chromium) walks every procedure in both
    languages by clicking. For each screen: the bytes transferred (the page, and the styles and
    script when they are not cached: Resource Timing ``transferSize``, headers included) and
    the time from the click to the next screen's first contentful paint (the click and the
    paint are read from the same clock, ``performance.timeOrigin`` plus ``now()``).
    Targets (issue 5): under 100 KB per screen with fonts and scripts (fonts are the system's),
    and the next screen painted within 200 ms.

    .venv/bin/python bench/bench_kiosk.py [--rounds 3] [--threads 8] [--out FILE] [--quick]

Prints one JSON document on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_console import figures
from bench.bench_sms import free_port, start_server, stop_server

KIOSK = "bench"
PROCEDURES = ("senior_citizen_card", "transport_fare_concession", "hkid_replacement",
              "old_age_allowance", "old_age_living_allowance", "elderly_health_voucher",
              "elderly_vaccination", "public_housing_status", "report_problem",
              "book_appointment")
_DO = re.compile(r'<button[^>]*name="do" value="([^"]*)"(?:[^>]*?( disabled))?')


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def next_touches(html: str, locale: str) -> list[tuple[str, dict]] | None:
    """What a visitor touches next on this screen (the same way through as the tests: the
    first choice, "no" to offers of a member of staff, "yes" to a check or consent, "all
    correct" at a review); None at the end screen."""
    values = [v for v, _ in _DO.findall(html.split('<main', 1)[1])]
    if any(v.startswith("choose:change:") for v in values):
        return [("choose:ok", {})]
    if '<h2 class="ask">' in html:
        return None
    heading = re.search(r"<h1>(.*?)</h1>", html, re.DOTALL).group(1)
    if "key:A" in values:
        return [(f"key:{k}", {}) for k in "A1234563"] + [("done", {})]
    if "key:1" in values:
        number = "91234567" if re.search(r"phone|電話", heading) else "70"
        return [(f"key:{k}", {}) for k in number] + [("done", {})]
    if "date:day+1" in values:
        return [("date:day+1", {}), ("done", {})]
    if "text" in values:
        return [("text", {"text": "巴士站附近" if locale == "zh-HK" else "Near the bus stop"})]
    choices = [v for v in values if v.startswith("choose:") and v != "choose:more_times"]
    pick = choices[0]
    confirming = re.search(r"Check your answer|請檢查|Is that OK|可唔可以|係咪", html)
    if choices == ["choose:yes", "choose:no"] and not confirming:
        pick = "choose:no"
    return [(pick, {})]


# -- the server over plain HTTP -----------------------------------------------------------------

def http_walks(port: int, rounds: int) -> dict:
    post_ms: list[float] = []
    get_ms: list[float] = []
    sizes: list[int] = []
    screens = 0
    base = f"/kiosk/{KIOSK}/"
    for r in range(rounds):
        for pid in PROCEDURES:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

            def call(method, path, body=None, cookie=None, conn=conn):
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                if cookie:
                    headers["Cookie"] = f"kaifong_kiosk={cookie}"
                t0 = time.perf_counter()
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                return time.perf_counter() - t0, response, data

            _, response, _ = call("POST", base + "start",
                                  urlencode({"do": f"choose:{pid}", "lang": "en"}))
            cookie = re.search(r"kaifong_kiosk=([^;]+)", response.getheader("Set-Cookie")).group(1)
            for _ in range(60):
                seconds, response, data = call("GET", base, cookie=cookie)
                assert response.status == 200
                get_ms.append(seconds)
                sizes.append(len(data))
                screens += 1
                touches = next_touches(data.decode(), "en")
                if touches is None:
                    break
                for do, form in touches:
                    seconds, response, _ = call("POST", base + "touch",
                                                urlencode({"do": do, **form}), cookie)
                    assert response.status == 303, response.status
                    post_ms.append(seconds)
                    if do.startswith(("key:", "date:")):
                        # a keypad key is a screen of its own too
                        seconds, response, data = call("GET", base, cookie=cookie)
                        get_ms.append(seconds)
            else:
                raise RuntimeError(f"{pid}: no end")
            call("POST", base + "end", cookie=cookie)
            conn.close()
        log(f"server: round {r + 1}/{rounds} done")
    return {"screens": screens, "touch_post": figures(post_ms), "screen_get": figures(get_ms),
            "page_bytes_max": max(sizes), "page_bytes_mean": round(sum(sizes) / len(sizes))}


# -- Chromium ---------------------------------------------------------------------------------

_CLICK = """(selector) => {
    const t = performance.timeOrigin + performance.now();
    document.querySelector(selector).click();
    return t;
}"""
_PAINTED = """() => new Promise(resolve => {
    const done = (e) => resolve({
        paint: performance.timeOrigin + e.startTime,
        bytes: performance.getEntriesByType('navigation').concat(
                   performance.getEntriesByType('resource'))
               .reduce((n, x) => n + (x.transferSize || 0), 0),
        fetched: performance.getEntriesByType('resource')
                 .reduce((n, x) => n + (x.transferSize || 0), 0)});
    const seen = performance.getEntriesByName('first-contentful-paint');
    if (seen.length) return done(seen[0]);
    new PerformanceObserver((list) => {
        const e = list.getEntriesByName('first-contentful-paint')[0];
        if (e) done(e);
    }).observe({type: 'paint', buffered: true});
})"""


def chromium_walks(port: int, locales: list[str]) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    paint_ms: list[float] = []
    cold: list[int] = []
    warm: list[int] = []
    base = f"http://127.0.0.1:{port}/kiosk/{KIOSK}/"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15_000)
        # a browser that has never seen the kiosk: the page, its styles and its script
        page.goto(f"{base}?lang=en")
        cold.append(page.evaluate(_PAINTED)["bytes"])

        def click(selector: str) -> None:
            with page.expect_navigation():
                t_click = page.evaluate(_CLICK, selector)
            shown = page.evaluate(_PAINTED)
            paint_ms.append((shown["paint"] - t_click) / 1000)
            (cold if shown["fetched"] else warm).append(shown["bytes"])

        for locale in locales:
            for pid in PROCEDURES:
                page.goto(f"{base}?lang={locale}")
                click(f"button[value='choose:{pid}']")
                for _ in range(60):
                    touches = next_touches(page.content(), locale)
                    if touches is None:
                        break
                    for do, form in touches:
                        if "text" in form:
                            page.fill("textarea", form["text"])
                        click(f"main button[value='{do}']")
                else:
                    raise RuntimeError(f"{pid} ({locale}): no end in Chromium")
                click("form.finish button")         # Finish, then "Yes, finish and clear"
                click("form.finish button")
            log(f"chromium: {locale} done")
        browser.close()
    return {"screens": len(paint_ms), "touch_to_paint": figures(paint_ms),
            "bytes_first_screen_with_styles_and_script": cold[0],
            "bytes_per_screen_max": max(cold + warm), "bytes_per_screen_cached_max":
                max(warm) if warm else None,
            "bytes_per_screen_cached_mean": round(sum(warm) / len(warm)) if warm else None}


def wait_for_audio(directory: Path, quiet: float = 3.0, limit: float = 600.0) -> int:
    """Until no new clip has appeared for ``quiet`` seconds; returns how many there are."""
    deadline = time.monotonic() + limit
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = len(list(directory.glob("*.wav")))
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since > quiet:
            return n
        time.sleep(0.5)
    return last


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="walks of every procedure (HTTP)")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true",
                        help="one round, English only in Chromium (the smoke test)")
    args = parser.parse_args(argv)
    rounds = 1 if args.quick else args.rounds
    locales = ["en"] if args.quick else ["en", "zh-HK"]
    data_dir = Path(tempfile.mkdtemp(prefix="kaifong-bench-kiosk-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAIFONG_", "TWILIO_"))}
    env.update(KAIFONG_DATA_DIR=str(data_dir), KAIFONG_KIOSK_IDS=KIOSK,
               KAIFONG_KIOSK_LOCALE="en", KAIFONG_SMS_WORKER="off")
    port = free_port()
    proc = start_server("channels:create_app()", port, env, 1, args.threads, None)
    try:
        log("warm-up: one walk, then the read-aloud clips are synthesised in the background")
        http_walks(port, 1)
        if not args.quick:
            chromium_walks(port, ["zh-HK"])
        clips = wait_for_audio(data_dir / "audio")
        log(f"warm-up: {clips} clips in the cache")
        server = http_walks(port, rounds)
        chromium = chromium_walks(port, locales)
    finally:
        stop_server(proc)
        shutil.rmtree(data_dir, ignore_errors=True)
    doc = {"setup": {"rounds": rounds, "locales": locales, "threads": args.threads,
                     "python": platform.python_version(), "cpus": os.cpu_count(),
                     "clips_cached": clips},
           "server": server, "chromium": chromium,
           "targets": {"bytes_per_screen_under": 100_000, "touch_to_paint_ms_under": 200,
                       "bytes_met": chromium["bytes_per_screen_max"] < 100_000,
                       "paint_p90_met": chromium["touch_to_paint"]["p90_ms"] < 200}}
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
