"""comparison.md's Markdown as the report's HTML (experiments/md_html.py)."""

from experiments.md_html import inline, to_html


def test_headings_paragraphs_and_tables_become_their_html():
    md = ("# Comparison of 2 runs\nSorted by `knn_acc`;\nthe best in bold.\n\n"
          "| model | knn_acc ↑ |\n|---|---|\n| vae | **0.500** |\n| a \\| b | 0.4 |\n\n### x=1")
    assert to_html(md).splitlines() == [
        "<h1>Comparison of 2 runs</h1>",
        "<p>Sorted by <code>knn_acc</code>; the best in bold.</p>",
        '<table class="sortable">',
        "<thead><tr><th>model</th><th>knn_acc ↑</th></tr></thead>",
        "<tbody>",
        "<tr><td>vae</td><td><strong>0.500</strong></td></tr>",
        "<tr><td>a | b</td><td>0.4</td></tr>",
        "</tbody></table>",
        "<h3>x=1</h3>"]


def test_text_from_runs_is_escaped_and_code_kept_as_written():
    assert inline("reason: <lost> & *few steps*") == \
        "reason: &lt;lost&gt; &amp; <em>few steps</em>"
    assert inline("`a*b*c` **x**") == "<code>a*b*c</code> <strong>x</strong>"
    assert inline("2 * 3 * 4") == "2 * 3 * 4"  # a lone star is no emphasis


def test_a_line_starting_with_a_bar_but_no_table_is_a_paragraph():
    assert to_html("| not a table") == "<p>| not a table</p>"
