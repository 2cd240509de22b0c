"""Draw a character in your browser and watch the network read it: a local page.

    python scripts/serve.py                      # the newest run under runs/
    python scripts/serve.py runs/demo-expert --port 8000
    python scripts/serve.py runs/demo-expert --screenshot docs/images/draw_page.png

Needs the app extra: pip install -e ".[app]" (make serve does it).
"""

from __future__ import annotations

from .. import cli


def build_parser():
    p = cli.parser(__doc__)
    p.add_argument("run_dir", nargs="?", default=None,
                   help="a run directory (default: the newest run under --runs)")
    p.add_argument("--runs", default="runs", help="where runs are; the page may switch among "
                   "them, never outside (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind; another than "
                   "127.0.0.1 opens the page to your network (default: %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="1 to 65535, or 0 for any free one "
                   "(default: %(default)s)")
    p.add_argument("--mine", default="data/mine", help="where 'This was' saves drawings, "
                   "one folder per character, for --init-from fine-tuning (default: %(default)s)")
    p.add_argument("--screenshot", default=None, metavar="PNG", help="instead of serving: open "
                   "the page in headless Chromium, draw --draw, save a screenshot, exit")
    p.add_argument("--draw", default=None, help="the character --screenshot draws, from "
                   "KanjiVG's strokes (default: the run's first class)")
    return p


@cli.command(build_parser)
def main(args) -> int:
    from ..app import server as web

    app = web.create_app(args.run_dir, runs_root=args.runs, mine_dir=args.mine)
    if args.screenshot:
        from ..app import browser

        ch = args.draw or app.maist_model.info()["classes"][0]
        top = browser.screenshot(app, args.screenshot, ch)
        print(f"drew {ch}: top 5 {' '.join(top)}; wrote {args.screenshot}")
        return 0
    server = web.make_server(app, args.host, args.port)
    print(f"MAIST draw page: http://{args.host}:{server.effective_port}/  (Ctrl-C stops it)",
          flush=True)
    try:
        server.run()
    finally:
        server.close()
    return 0

