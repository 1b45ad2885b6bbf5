"""Write an exploration: ``matrix.json``, a self-contained ``index.html`` (Jinja2) and ``junit.xml``.

The page shows one table per journey: a row per fault (``edge:mode``), a column per
profile, side by side, each cell coloured by its outcome, with the status the user saw,
the time and the consistency verdict. JUnit has one test case per cell: a failed journey
or an inconsistent shop is a failure, so CI tools list the cells by name.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from chaos.explore.matrix import Cell, Matrix, faults_label
from chaos.report import make_environment


def rows_by_journey(matrix: Matrix) -> dict[str, dict[str, dict[str, Cell]]]:
    """Return journey → fault label → profile → cell, in run order."""
    table: dict[str, dict[str, dict[str, Cell]]] = {}
    for cell in matrix.cells:
        table.setdefault(cell.journey, {}).setdefault(faults_label(cell.faults), {})[cell.profile] = cell
    return table


def write_junit(matrix: Matrix, path: Path) -> None:
    """Write one JUnit test case per cell."""
    suite = ET.Element("testsuite", name="shoplab-explore", tests=str(len(matrix.cells)))
    failures = 0
    for cell in matrix.cells:
        case = ET.SubElement(suite, "testcase", classname=f"explore.{cell.journey}.{cell.profile}",
                             name=faults_label(cell.faults), time=f"{cell.elapsed_s:.3f}")
        if cell.outcome == "failure" or cell.consistent is False:
            failures += 1
            failure = ET.SubElement(case, "failure", message=f"{cell.outcome}, status {cell.status}")
            failure.text = cell.detail
    suite.set("failures", str(failures))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def write_report(matrix: Matrix, out_dir: Path) -> dict[str, Path]:
    """Write the matrix's JSON, HTML and JUnit into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "matrix.json", "html": out_dir / "index.html", "junit": out_dir / "junit.xml"}
    paths["json"].write_text(json.dumps(matrix.to_json(), indent=1) + "\n")
    profiles = sorted({c.profile for c in matrix.cells})
    html = make_environment().get_template("explore.html.j2").render(
        tables=rows_by_journey(matrix), profiles=profiles, meta=matrix.meta,
        counts={o: sum(c.outcome == o for c in matrix.cells) for o in ("success", "degraded", "failure")},
        inconsistent=sum(c.consistent is False for c in matrix.cells), total=len(matrix.cells))
    paths["html"].write_text(html)
    write_junit(matrix, paths["junit"])
    return paths
