"""The HTML report as a notebook output: the same page `report.html` writes, with its CSS scoped to the
report so it cannot restyle the notebook around it, and the findings of `check` as a small table.

`report.html.render_report` makes a whole page (`<html>`, a `<style>` that sets `body`, `table`, `h1`...).
Pasted into a notebook cell as it is, that style would apply to the whole notebook. So the page's `<style>`
is rewritten to apply inside `<div class="caedoctor-report">` only, and the `<body>` content goes inside that
div. Images stay inline `data:` URIs; there is no JavaScript.
"""

from __future__ import annotations

import html
import re

SCOPE = "caedoctor-report"


def _scope_selector(selector: str, scope: str) -> str:
    if selector in (":root", "html", "body"):
        return scope
    for root in ("body ", "html "):
        if selector.startswith(root):
            return f"{scope} {selector[len(root):]}"
    return f"{scope} {selector}"


def scope_css(css: str, scope: str = f".{SCOPE}") -> str:
    """Rewrite every rule of `css` to apply inside `scope` only (`:root` and `body` become the scope itself);
    @media blocks are scoped inside."""
    out, i = [], 0
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    while True:
        j = css.find("{", i)
        if j < 0:
            break
        head = css[i:j].strip()
        depth, k = 1, j + 1
        while depth and k < len(css):
            depth += {"{": 1, "}": -1}.get(css[k], 0)
            k += 1
        body = css[j + 1:k - 1]
        if head.startswith("@"):
            out.append(f"{head} {{ {scope_css(body, scope)} }}")
        else:
            selectors = ", ".join(_scope_selector(s.strip(), scope) for s in head.split(",") if s.strip())
            out.append(f"{selectors} {{{body}}}")
        i = k
    return "\n".join(out)


def notebook_html(page: str) -> str:
    """A report page (`render_report`) as a self-contained fragment for a notebook output."""
    style = "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", page, flags=re.S))
    body = re.search(r"<body[^>]*>(.*)</body>", page, flags=re.S)
    content = body.group(1) if body else page
    return f'<div class="{SCOPE}">\n<style>\n{scope_css(style)}\n</style>\n{content}\n</div>'


def report_fragment(diagnosis, *, data=None, loaded=None, repair=None) -> str:
    """The diagnosis (and repair) report as a notebook fragment (arguments as for `render_report`)."""
    from caedoctor.report.html import render_report

    return notebook_html(render_report(diagnosis, data=data, loaded=loaded, repair=repair))


_CHECK_STYLE = """
.caedoctor-check { font-family: sans-serif; font-size: 13px; }
.caedoctor-check table { border-collapse: collapse; }
.caedoctor-check th, .caedoctor-check td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #e5e7eb;
  vertical-align: top; }
.caedoctor-check th { background: #f1f5f9; }
.caedoctor-check .error { color: #b91c1c; font-weight: 600; }
.caedoctor-check .warning { color: #b45309; font-weight: 600; }
.caedoctor-check .info { color: #2563eb; }
"""


def check_html(findings) -> str:
    """The findings of `check` as a table: code, severity, cause, message and fix."""
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning", "info")}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n) or "no findings"
    rows = "".join(
        f"<tr><td><code>{html.escape(f.code)}</code></td><td class=\"{html.escape(f.severity)}\">"
        f"{html.escape(f.severity)}</td><td>{html.escape(f.cause.replace('_', ' '))}</td>"
        f"<td>{html.escape(f.message)}</td><td>{html.escape((f.fix.description or f.fix.kind) if f.fix else '')}"
        f"</td></tr>" for f in findings)
    table = (f"<table><thead><tr><th>rule</th><th>severity</th><th>cause</th><th>finding</th><th>fix</th></tr>"
             f"</thead><tbody>{rows}</tbody></table>" if findings else "")
    return (f'<div class="caedoctor-check"><style>{_CHECK_STYLE}</style><p><b>caedoctor check</b>: {summary} '
            f"(static rules, no training; <code>caedoctor.diagnose</code> tests them)</p>{table}</div>")
