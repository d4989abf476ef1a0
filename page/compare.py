"""The model variants measured side by side on the visitor's own photo: a table, two charts and the
same pixels of every result at 1:1."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from stylize import Result, Style, Stylizer
from stylize.compare import COMPARE_SIDE, Comparison, compare_variants, reference_for
from stylize.engine import RUNTIME_TITLES

from .labels import FORMAT_TITLES, model_label, runtime_key, runtime_title
from .state import state


def comparison_table(comparison: Comparison) -> pd.DataFrame:
    rows = []
    for r in comparison.reports:
        rows.append(
            {
                "Model": f"{'transfer' if r.kind == 'transfer' else 'segment'} · {model_label(r.kind, r.name)}",
                "Runtime": runtime_title(runtime_key(r.runtime, r.inference_precision)),
                "Precision": FORMAT_TITLES.get(r.precision, r.precision),
                "Size": r.file_bytes / 1e6,
                "Load": r.load_ms,
                "Median latency": r.median_ms,
                "Whole request": r.median_total_ms,
                "Memory": memory_text(r.peak_rss_mb),
                "Fidelity": fidelity_text(r),
            }
        )
    return pd.DataFrame(rows)


def memory_text(mb: float | None) -> str:
    if mb is None:
        return "not measured"
    return "under 1 MB" if mb < 1 else f"{mb:.0f} MB"


def fidelity_text(report) -> str:
    """A transfer variant: PSNR against the float reference. A segmenter: its mask's agreement with
    the best mask (no PSNR against another segmenter means anything) and the worst face it keeps."""
    if report.kind == "segment":
        faces = "" if report.faces_kept is None else f" · faces {report.faces_kept:.0f} %"
        return f"mask {report.mask_agreement:.1f} %{faces}"
    if report.is_reference:
        return "float reference"
    return "identical" if report.psnr_db == float("inf") else f"{report.psnr_db:.1f} dB"


TABLE_COLUMNS = {
    "Fidelity": st.column_config.TextColumn(
        "Fidelity",
        help="Transfer: PSNR of the picture against the float reference (higher is closer). Segmentation: the mask's agreement with the "
        "MediaPipe selfie mask on LiteRT (intersection over union), and the share of the worst-kept face the segmenter keeps by itself "
        "(the page adds the faces a face detector finds).",
    ),
    "Size": st.column_config.NumberColumn("Size", format="%.2f MB", help="The model file"),
    "Load": st.column_config.NumberColumn("Load", format="%.0f ms", help="Reading and compiling the file, once per process"),
    "Median latency": st.column_config.NumberColumn("Median latency", format="%.0f ms", help="Of the stage this model runs"),
    "Whole request": st.column_config.NumberColumn("Whole request", format="%.0f ms"),
    "Memory": st.column_config.TextColumn(
        "Memory", help="What loading it and its first run at this size added to the process's peak: under 1 MB where it was already loaded and built for this size"
    ),
}


def latency_chart(table: pd.DataFrame, kind: str, title: str) -> alt.Chart:
    data = table[table["Model"].str.startswith(kind)].rename(columns={"Size": "size_mb", "Median latency": "median_ms"})
    data = data.assign(model=data["Model"].str.split(" · ").str[-1])
    return (
        alt.Chart(data, title=title)
        .mark_point(filled=True, size=140)
        .encode(
            x=alt.X("size_mb:Q", title="model file (MB)", scale=alt.Scale(domainMin=0, nice=True)),
            y=alt.Y("median_ms:Q", title="median latency (ms)", scale=alt.Scale(domainMin=0, nice=True)),
            color=alt.Color("Runtime:N", legend=alt.Legend(title="runtime")),
            shape=alt.Shape("model:N", legend=alt.Legend(title="model", labelLimit=200)),
            tooltip=[alt.Tooltip("Model:N"), alt.Tooltip("Runtime:N"), alt.Tooltip("size_mb:Q", title="MB", format=".2f"), alt.Tooltip("median_ms:Q", title="ms", format=".0f")],
        )
        .properties(height=240)
    )


def reference_words(stylizer: Stylizer, reference: dict[str, str]) -> str:
    """How the reference is named: the float one, or — in a store without a float model — the
    most faithful model the store has."""
    if stylizer.manifest.get("transfer", reference["transfer"]).precision in ("fp16", "fp32"):
        return "float reference"
    return "most faithful model this store has"


@st.fragment
def show_comparison(stylizer: Stylizer, result: Result, style: str | Style, key: tuple) -> None:
    """The comparison section for the result on screen (``key`` identifies it: ``photo.result_key``).
    A comparison measured for another photo, style or option is not shown under this one. A
    fragment: its own button and number of runs rerun this section alone, not the page."""
    st.subheader("Compare model variants")
    reference = reference_for(stylizer)
    st.write(
        f"Runs every transfer variant{' and every segmentation model' if result.options.mask != 'full' else ''} on both runtimes "
        f"({' and '.join(RUNTIME_TITLES.values())}; each transfer variant in every arithmetic the runtime offers on this CPU) on this photo and style, "
        f"painted at most {COMPARE_SIDE} px on its longer side (memory: every variant is loaded in turn), here and now, each model's runtimes and arithmetic interleaved. A transfer variant's fidelity is PSNR against the {reference_words(stylizer, reference)} "
        f"({model_label('transfer', reference['transfer'])} transfer and {model_label('segment', reference['segment'])} on {RUNTIME_TITLES[reference['runtime']]}); higher is closer."
    )
    runs_col, button_col = st.columns([1, 3], vertical_alignment="bottom")
    runs = runs_col.number_input("Runs per variant", min_value=1, max_value=20, value=3, key="runs")
    if button_col.button("Compare variants", key="compare", type="primary"):
        bar = st.progress(0.0, text="Measuring…")

        def progress(done: int, total: int, what: str) -> None:
            bar.progress(done / total, text=f"Measuring {what} — run {done} of {total}")

        state().comparison = (key, compare_variants(stylizer, result.original, style, result.options, runs=int(runs), progress=progress))
        bar.empty()
    measured = state().comparison
    if measured is None:
        return
    if measured[0] != key:
        state().comparison = None
        st.caption("The last comparison was measured for another photo, style or choice, so it is gone; press **Compare variants** to measure this one.")
        return
    comparison = measured[1]
    height, width = comparison.reports[0].image.shape[:2]
    st.caption(f"Measured at {width}×{height}, {comparison.runs} run{'s' if comparison.runs > 1 else ''} per variant after one warm-up.")
    table = comparison_table(comparison)
    st.dataframe(table, hide_index=True, width="stretch", height=35 * (len(table) + 1) + 3, column_config=TABLE_COLUMNS)  # every row, none empty
    transfer_chart, segment_chart = st.columns(2)
    transfer_chart.altair_chart(latency_chart(table, "transfer", "Transfer: latency against size"), width="stretch")
    if (table["Model"].str.startswith("segment")).any():
        segment_chart.altair_chart(latency_chart(table, "segment", "Segmentation: latency against size"), width="stretch")
    left, top, width, height = comparison.detail_box()
    st.markdown(f"**The same {width}×{height} pixels of each result, at 1:1** — where the variants differ most (from {left}, {top}).")
    crops = comparison.crops()
    per_row = 4
    for start in range(0, len(crops), per_row):
        for column, report, crop in zip(st.columns(per_row), comparison.reports[start : start + per_row], crops[start : start + per_row], strict=False):
            with column:
                st.image(crop, width=crop.shape[1], output_format="PNG")
                fidelity = fidelity_text(report)
                model = model_label(report.kind, report.name)
                st.caption(f"**{report.kind} {model}** · {runtime_title(runtime_key(report.runtime, report.inference_precision))} · {report.median_ms:.0f} ms · {fidelity}")
