import numpy as np

from fiddle_factornet.data.tables import fixed_point, format_rows


def test_format_rows_integers_and_text():
    text = format_rows([np.array([b"chr1", b"chrX", b"chr22"]), np.array([0, 7, 1234567890]),
                        np.array([10, 100, 9]), np.array([b"B", b"U", b"A"])])
    assert text == b"chr1\t0\t10\tB\nchrX\t7\t100\tU\nchr22\t1234567890\t9\tA\n"


def test_format_rows_matches_python_formatting_on_random_values():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 10 ** rng.integers(1, 12, 1000))
    assert format_rows([values]).decode().split() == [str(v) for v in values]


def test_fixed_point_scores():
    text = format_rows([np.array([1, 2, 3, 4]), fixed_point(np.array([0.5, 0.0, 1.0, 0.1234567]))])
    assert text == b"1\t0.500000\n2\t0.000000\n3\t1.000000\n4\t0.123457\n"
    assert format_rows([fixed_point(np.array([12.25]), places=1)]) == b"12.2\n"  # round half even
