import numpy as np
import pytest

from fiddle_factornet.data.tables import fixed_point, format_rows, scientific


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


def _lines(matrix: np.ndarray) -> list[str]:
    return format_rows([matrix]).decode().splitlines()


def _float32_cases(n: int = 100_000) -> np.ndarray:
    """Random float32 scores and magnitudes, with zero, one, tiny values, values just below powers
    of ten and values that round up to the next power (9.9999999995e-5)."""
    rng = np.random.default_rng(7)
    special = [0.0, 1.0, 0.5, 1e-30, 9.9999999995e-5, 0.099999999, 0.0999999999, 9.9999999e-8,
               1e-45, 1.4e-45, 3.4028235e38, 2000000.125, 1e-7, 5e-7, 4.9999999e-7,
               float(np.nextafter(np.float32(0.001), np.float32(0)))]
    below = np.nextafter(np.float32(10.0) ** np.arange(-37, 38, dtype=np.float32), np.float32(0))
    random = np.concatenate([rng.random(n // 2), rng.random(n // 2) * 10.0 ** rng.integers(
        -45, 38, n // 2)]).astype(np.float32)
    values = np.concatenate([np.float32(special), below, random])
    return values[np.isfinite(values)]


@pytest.mark.parametrize("significant", [9, 4, 1])
def test_scientific_is_pythons_e_format_on_float32(significant):
    values = _float32_cases()
    assert _lines(scientific(values, significant)) == [
        "%.*e" % (significant - 1, v) for v in values.astype(np.float64).tolist()]


def test_nine_significant_digits_round_trip_float32():
    values = _float32_cases()
    text = _lines(scientific(values, 9))
    assert (np.array(text, dtype=np.float64).astype(np.float32) == values).all()
    assert text[:5] == ["0.00000000e+00", "1.00000000e+00", "5.00000000e-01",
                        "1.00000000e-30", "9.99999975e-05"]  # float32(9.9999999995e-5)
    # rounding carries into the next power of ten
    assert _lines(scientific(np.array([9.9999999995e-5, 0.9999999996]), 9)) == [
        "1.00000000e-04", "1.00000000e+00"]
    assert _lines(scientific(np.float32([9.9996e-5, 0.99996]), 4)) == ["1.000e-04", "1.000e+00"]


def test_scientific_on_float64_all_digit_counts():
    rng = np.random.default_rng(3)
    values = np.concatenate([[0.0, -0.0, -2.5, 5e-324, 2.2250738585072014e-308,
                              1.7976931348623157e308, 1e100, 0.125, 2.5e-5],
                             rng.random(3000) * 10.0 ** rng.integers(-320, 300, 3000),
                             -rng.random(500)])
    for significant in range(1, 18):
        assert _lines(scientific(values, significant)) == [
            "%.*e" % (significant - 1, v) for v in values.tolist()], significant
    assert scientific(np.zeros(0), 9).shape[0] == 0


def test_scientific_refuses_what_it_cannot_write():
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="finite"):
            scientific(np.array([0.5, bad]))
    for digits in (0, 18):
        with pytest.raises(ValueError, match="1..17"):
            scientific(np.array([0.5]), digits)
