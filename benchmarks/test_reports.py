"""The scripts that write results/perf.md and results/step_options.md: plain tests, no timing."""
from benchmarks.perf_report import render
from benchmarks.step_options import EFFECT_INTRO, TABLE_INTRO, other_machines

AMD, INTEL = "AMD EPYC, with bf16 units (AVX512-BF16 / AMX)", "Intel Xeon, without bf16 units (AVX512-BF16 / AMX)"


def _table(machine: str, ms: float) -> str:
    return (f"{TABLE_INTRO}, one ensemble of 5 on one thread (`...`, 2026-12-07, {machine}):\n\n"
            f"| variant | fp32 eager (ganbench) |\n|---|---|\n| vanilla | {ms} |")


def test_step_options_keeps_the_table_of_another_kind_of_machine_only():
    md = f"## Tried\n\n{_table(AMD, 2.06)}\n\n{_table(INTEL, 2.18)}\n\n{EFFECT_INTRO}: ...\n"
    assert other_machines(md, AMD) == [_table(INTEL, 2.18)]
    assert other_machines(md, INTEL) == [_table(AMD, 2.06)]
    assert other_machines(f"## Tried\n\n{_table(AMD, 2.06)}\n\n{EFFECT_INTRO}: ...\n", AMD) == []


def test_perf_report_ratios_are_of_medians_so_one_slow_round_does_not_decide():
    def bench(impl, median, mean):
        return {"name": impl, "group": "g", "extra_info": {"impl": impl},
                "stats": {"median": median, "mean": mean, "rounds": 10}}

    md = render({"benchmarks": [bench("ganbench", 0.001, 0.012), bench("reference", 0.003, 0.003)]})
    assert "| reference | 0.0030 | 10 | 3.0x |" in md
