"""Host-side preprocessing layers (Hashing, HashedCrossing, StringLookup,
IntegerLookup, TextVectorization) against the numbers in Keras' docs and tests,
and the string hashes against published test vectors."""

import mlx.core as mx
import numpy as np
import pytest

import mlxfunctional as keras
from mlxfunctional import layers as L
from mlxfunctional.layers import fingerprint

from _preprocessing_helpers import FreshProcess

WIRE = [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]]
LETTERS = [["A"], ["B"], ["C"], ["D"], ["E"]]


# --------------------------------------------------------------- the hashes

# FarmHash Fingerprint64 (farmhashna Hash64) test vectors, as published with the
# Go port's tests (dgryski/go-farm), one per length class of the algorithm.
FARMHASH_VECTORS = {
    "": 0x9ae16a3b2f90404f,
    "a": 0xb3454265b6df75e3,
    "abcd": 0x1a5502de4a1f8101,
    "abcdefghi": 0x332c8ed4dae5ba42,
    "0123456789=012345": 0x46a7416ed4861e3b,
    "C is as portable as Stonehedge!!": 0xb944f8a16261e414,
    "Discard medicine more than two years old.": 0xe8f89ab6df9bdd25,
    "For every action there is an equal and opposite government program.": 0x55182f8859eca4ce,
    ("The fugacity of a constituent in a mixture of gases at a given temperature is "
     "proportional to its mole fraction.  Lewis-Randall Rule"): 0x98eff6958c5e91a,
    "0123456789%0123456789\u00a3": 0x4dbd128af51d77e8,
}


@pytest.mark.parametrize("text, value", list(FARMHASH_VECTORS.items()))
def test_fingerprint64_matches_farmhash_test_vectors(text, value):
    assert fingerprint.fingerprint64(text) == value


def test_siphash24_matches_the_reference_vectors():
    # The SipHash paper's key 00..0f; messages 00..0e (15 bytes) and empty.
    key = (int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)), "little"))
    assert fingerprint.siphash24(key, bytes(range(15))) == 0xa129ca6149be45e5
    assert fingerprint.siphash24(key, b"") == 0x726fdb47dd0e0e31


# ------------------------------------------------------------------- Hashing

def test_hashing_matches_keras_tests():
    ids = lambda layer, data: np.array(layer(data)).tolist()
    assert ids(L.Hashing(3), LETTERS) == [[1], [0], [1], [1], [2]]
    assert ids(L.Hashing(3, mask_value=""), [["A"], ["B"], [""], ["C"], ["D"]]) == \
        [[1], [1], [0], [2], [2]]
    assert ids(L.Hashing(3, salt=[133, 137]), LETTERS) == [[1], [2], [1], [0], [2]]
    assert ids(L.Hashing(3, salt=133), LETTERS) == [[0], [0], [2], [1], [0]]
    assert ids(L.Hashing(1), LETTERS) == [[0]] * 5
    assert ids(L.Hashing(2), WIRE) == [[0], [0], [1], [0], [0]]
    assert ids(L.Hashing(3, mask_value=""), WIRE) == [[1], [1], [2], [1], [1]]
    assert ids(L.Hashing(3, mask_value="omar"), WIRE) == [[0], [1], [2], [1], [1]]
    assert ids(L.Hashing(3), np.array([[0], [1], [2], [3], [4]])) == [[1], [0], [1], [0], [2]]
    assert ids(L.Hashing(2, salt=[133, 137]), WIRE) == [[0], [1], [0], [1], [0]]
    assert ids(L.Hashing(2, salt=[211, 137]), WIRE) == [[1], [0], [1], [0], [1]]
    assert ids(L.Hashing(3, salt=[133, 137]), np.array([[0], [1], [2], [3], [4]])) == \
        [[1], [1], [2], [0], [1]]
    assert ids(L.Hashing(3), np.array(["A", "B", "C", "D", "E"], dtype="S")) == [1, 0, 1, 1, 2]


def test_hashing_output_modes_and_dtypes():
    x = np.array([0, 1, 2, 3, 4])
    out = L.Hashing(3)(x)
    assert out.dtype == mx.int64
    one = L.Hashing(3, output_mode="one_hot")(x)
    assert one.dtype == mx.float32
    np.testing.assert_array_equal(np.array(one), np.eye(3)[[1, 0, 1, 0, 2]])
    np.testing.assert_array_equal(np.array(L.Hashing(3, output_mode="multi_hot")(x[None])),
                                  [[1, 1, 1]])
    np.testing.assert_array_equal(np.array(L.Hashing(3, output_mode="count")(x[None])),
                                  [[2, 2, 1]])
    assert L.Hashing(3, dtype="int32")(x).dtype == mx.int32
    with pytest.raises(ValueError, match="salt"):
        L.Hashing(2, salt="string")
    with pytest.raises(ValueError, match="salt"):
        L.Hashing(2, salt=[1, 2, 3])


def test_pipeline_layers_refuse_symbolic_inputs_with_a_clear_error():
    with pytest.raises(TypeError, match="before the model"):
        L.TextVectorization()(keras.Input((1,)))
    with pytest.raises(TypeError, match="before the model"):
        L.StringLookup(vocabulary=["a"])(keras.Input((1,)))


INTEGERS = np.concatenate([np.array([0, 1, -1, 9, 10, -10, 99999, 10 ** 15, -10 ** 16,
                                     2 ** 63 - 1, -2 ** 63], dtype=np.int64),
                           np.random.default_rng(5).integers(-2 ** 62, 2 ** 62, 200)])


@pytest.mark.parametrize("kwargs", [{}, {"salt": [133, 137]}, {"mask_value": 10},
                                    {"output_mode": "count"}, {"salt": 7, "mask_value": -1}])
def test_hashing_integers_in_the_graph_and_compiled_equals_the_host_hashes(kwargs):
    layer = L.Hashing(11, **kwargs)
    data = INTEGERS.reshape(-1, 1) if kwargs.get("output_mode") != "count" else \
        INTEGERS.reshape(-1, 1)[:10]
    _three_ways(layer, data)  # numpy (host, Python hashes) = MLX = mx.compile
    assert np.array(layer(mx.array([2.9, -2.9]))).tolist() == \
        np.array(layer(np.array([2, -2]))).tolist()  # floats truncate toward zero


def test_hashed_crossing_of_integers_in_the_graph_and_in_a_model():
    a, b = INTEGERS[:50], INTEGERS[50:100]
    layer = L.HashedCrossing(13)
    host = np.array(layer((a, b)))
    np.testing.assert_array_equal(np.array(layer((mx.array(a), mx.array(b)))), host)
    compiled = mx.compile(lambda p, q: layer((p, q)))
    np.testing.assert_array_equal(np.array(compiled(mx.array(a), mx.array(b))), host)
    first, second = keras.Input((1,), dtype="int32"), keras.Input((1,), dtype="int32")
    crossed = L.HashedCrossing(13, output_mode="one_hot")((first, second))
    model = keras.Model([first, second], crossed)
    small_a, small_b = np.arange(-5, 5, dtype=np.int32), np.arange(10, dtype=np.int32) * 7
    out = np.array(model.predict([small_a[:, None], small_b[:, None]], verbose=0))
    np.testing.assert_array_equal(out.argmax(-1), np.array(layer((small_a, small_b))))


def test_hashed_crossing_matches_keras_tests():
    feat1 = np.array(["A", "B", "A", "B", "A"])
    feat2 = np.array([101, 101, 101, 102, 102])
    out = L.HashedCrossing(num_bins=5)((feat1, feat2))
    assert out.dtype == mx.int64
    assert np.array(out).tolist() == [1, 4, 1, 1, 3]
    hot = np.array(L.HashedCrossing(num_bins=5, output_mode="one_hot")((feat1, feat2)))
    np.testing.assert_array_equal(hot, np.eye(5)[[1, 4, 1, 1, 3]])
    assert L.HashedCrossing(3)((np.array([1, 2]), np.array([4, 5]))).shape == (2,)
    assert L.HashedCrossing(4, output_mode="one_hot")(
        (np.array([1, 2]), np.array([4, 5]))).shape == (2, 4)
    with pytest.raises(ValueError, match="shape"):
        L.HashedCrossing(10)((np.array([[[1]]]), np.array([[[1]]])))
    with pytest.raises(ValueError, match="at least two"):
        L.HashedCrossing(10)(np.array([1]))


# -------------------------------------------------------------- StringLookup

VOCAB = ["a", "b", "c", "d"]


def test_string_lookup_matches_keras_doc_examples():
    data = [["a", "c", "d"], ["d", "z", "b"]]
    assert np.array(L.StringLookup(vocabulary=VOCAB)(data)).tolist() == [[1, 3, 4], [4, 0, 2]]
    layer = L.StringLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    assert np.array(layer(data)).tolist() == [[5, 3, 1], [1, 2, 4]]
    two = L.StringLookup(vocabulary=VOCAB, num_oov_indices=2)
    assert np.array(two([["a", "c", "d"], ["m", "z", "b"]])).tolist() == [[2, 4, 5], [0, 1, 3]]
    one_hot = L.StringLookup(vocabulary=VOCAB, output_mode="one_hot")(["a", "b", "c", "d", "z"])
    np.testing.assert_array_equal(np.array(one_hot), np.eye(5)[[1, 2, 3, 4, 0]])
    docs = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
    np.testing.assert_array_equal(
        np.array(L.StringLookup(vocabulary=VOCAB, output_mode="multi_hot")(docs)),
        [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]])
    np.testing.assert_array_equal(
        np.array(L.StringLookup(vocabulary=VOCAB, output_mode="count")(docs)),
        [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])
    tfidf = L.StringLookup(output_mode="tf_idf")
    tfidf.set_vocabulary(VOCAB, idf_weights=[0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(np.array(tfidf(docs)),
                               [[0, .25, 0, .6, .8], [1.0, 0, .75, 0, .4]], rtol=1e-6)
    tfidf.set_vocabulary(["[UNK]"] + VOCAB, idf_weights=[0.9, 0.25, 0.75, 0.6, 0.4])
    np.testing.assert_allclose(np.array(tfidf(docs)),
                               [[0, .25, 0, .6, .8], [1.8, 0, .75, 0, .4]], rtol=1e-6)
    inverse = L.StringLookup(vocabulary=VOCAB, invert=True)([[1, 3, 4], [4, 0, 2]])
    assert inverse.tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]


def test_string_lookup_adapt_tf_idf_mask_and_errors():
    layer = L.StringLookup(output_mode="tf_idf")
    docs = np.array([["x", "y"], ["x", "x"], ["z", "x"]])
    layer.adapt(iter([docs[:2], docs[2:]]))  # batches; each row one document
    assert layer.get_vocabulary() == ["[UNK]", "x", "z", "y"]
    idf = np.log(1 + 3 / (1 + np.array([3, 1, 1])))  # x in 3 documents, z and y in 1
    out = np.array(layer(np.array([["x", "x", "y", "q"]])))
    np.testing.assert_allclose(out, [[idf.mean(), 2 * idf[0], 0, idf[2]]], rtol=1e-6)
    masked = L.StringLookup(vocabulary=VOCAB, mask_token="")
    assert np.array(masked([["a", "", "q"]])).tolist() == [[2, 0, 1]]
    assert masked.get_vocabulary()[:2] == ["", "[UNK]"]
    counted = L.StringLookup(vocabulary=VOCAB, mask_token="", output_mode="count")
    np.testing.assert_array_equal(np.array(counted([["a", "", "a"]])), [[0, 2, 0, 0, 0]])
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        L.StringLookup(vocabulary=VOCAB, num_oov_indices=0)(["a", "zz"])
    with pytest.raises(ValueError, match="repeats"):
        L.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="max_tokens"):
        L.StringLookup(vocabulary=VOCAB, max_tokens=3)
    with pytest.raises(ValueError, match="file"):
        L.StringLookup(vocabulary="/etc/passwd")
    padded = L.StringLookup(vocabulary=VOCAB, output_mode="multi_hot", max_tokens=8,
                            pad_to_max_tokens=True)
    assert padded(["a"]).shape == (8,)


# ------------------------------------------------------------- IntegerLookup

IVOCAB = [12, 36, 1138, 42]


def _three_ways(layer, data):
    """The layer on numpy (host), on an MLX array (graph) and under mx.compile."""
    host = np.array(layer(data))
    graph = np.array(layer(mx.array(data)))
    compiled = np.array(mx.compile(lambda x: layer(x))(mx.array(data)))
    np.testing.assert_array_equal(host, graph)
    np.testing.assert_array_equal(host, compiled)
    return host


def test_integer_lookup_matches_keras_doc_examples_on_host_in_graph_and_compiled():
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    assert _three_ways(L.IntegerLookup(vocabulary=IVOCAB), data).tolist() == \
        [[1, 3, 4], [4, 0, 2]]
    layer = L.IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    assert _three_ways(layer, data).tolist() == [[5, 2, 1], [1, 3, 4]]
    two = L.IntegerLookup(vocabulary=IVOCAB, num_oov_indices=2)
    assert _three_ways(two, np.array([[12, 1138, 42], [37, 1000, 36]])).tolist() == \
        [[2, 4, 5], [1, 0, 3]]
    oov = np.array([100, 300, 700, 1100, 1700, 2000])
    floormod = L.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4)
    assert _three_ways(floormod, oov).tolist() == [0] * 6
    farmhash = L.IntegerLookup(vocabulary=[10, 20, 30], num_oov_indices=4, oov_method="farmhash")
    assert _three_ways(farmhash, oov).tolist() == [3, 3, 2, 2, 0, 1]
    salted = L.IntegerLookup(vocabulary=[10], num_oov_indices=5, oov_method="farmhash", salt=3)
    _three_ways(salted, INTEGERS[:40])
    docs = np.array([[12, 1138, 42, 42], [42, 7, 36, 7]])
    np.testing.assert_array_equal(
        _three_ways(L.IntegerLookup(vocabulary=IVOCAB, output_mode="count"), docs),
        [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]])
    np.testing.assert_allclose(
        _three_ways(L.IntegerLookup(vocabulary=IVOCAB, output_mode="tf_idf",
                                    idf_weights=[0.25, 0.75, 0.6, 0.4]), docs),
        [[0, .25, 0, .6, .8], [1.0, 0, .75, 0, .4]], rtol=1e-6)
    np.testing.assert_array_equal(
        _three_ways(L.IntegerLookup(vocabulary=IVOCAB, output_mode="one_hot"),
                    np.array([12, 36, 1138, 42, 7])), np.eye(5)[[1, 2, 3, 4, 0]])


def test_integer_lookup_invert_mask_and_a_large_random_vocabulary_against_a_dict():
    inverse = L.IntegerLookup(vocabulary=IVOCAB, invert=True)
    assert _three_ways(inverse, np.array([[1, 3, 4], [4, 0, 9]])).tolist() == \
        [[12, 1138, 42], [42, -1, -1]]
    masked = L.IntegerLookup(vocabulary=IVOCAB, mask_token=0)
    assert _three_ways(masked, np.array([[12, 0, 42], [42, 7, 36]])).tolist() == \
        [[2, 0, 5], [5, 1, 3]]
    rng = np.random.default_rng(3)
    vocab = rng.choice(10 ** 6, size=997, replace=False)
    table = {int(v): i + 1 for i, v in enumerate(vocab)}
    queries = np.concatenate([rng.choice(vocab, 500), rng.integers(-10, 10 ** 6, 500)])
    expected = np.array([table.get(int(q), 0) for q in queries])
    np.testing.assert_array_equal(_three_ways(L.IntegerLookup(vocabulary=vocab), queries),
                                  expected)


def test_integer_lookup_with_no_oov_slot_raises_eagerly():
    layer = L.IntegerLookup(vocabulary=IVOCAB, num_oov_indices=0)
    with pytest.raises(ValueError, match=r"num_oov_indices=0.*\[7\]"):
        layer(mx.array([12, 7]))
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layer(np.array([12, 7]))
    assert np.array(mx.compile(lambda x: layer(x))(mx.array([12, 7]))).tolist() == [0, -1]


# -------------------------------------------------------- TextVectorization

def test_text_vectorization_matches_keras_doc_and_test_examples():
    layer = L.TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    layer.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert np.array(layer([["foo qux bar"], ["qux baz"]])).tolist() == [[4, 1, 3, 0],
                                                                       [1, 2, 0, 0]]
    fixed = L.TextVectorization(output_sequence_length=4, vocabulary=["earth", "wind", "and",
                                                                      "fire"])
    assert fixed.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]
    vocab = ["foo", "bar", "baz"]
    np.testing.assert_array_equal(np.array(L.TextVectorization(
        output_mode="multi_hot", vocabulary=vocab)([["foo bar"], ["baz foo foo"]])),
        [[0, 1, 1, 0], [0, 1, 0, 1]])
    np.testing.assert_array_equal(np.array(L.TextVectorization(
        output_mode="count", vocabulary=vocab)(["foo bar", "baz foo foo"])),
        [[0, 1, 1, 0], [0, 2, 0, 1]])
    np.testing.assert_allclose(np.array(L.TextVectorization(
        output_mode="tf_idf", vocabulary=vocab, idf_weights=[0.3, 0.5, 0.2])(
        ["foo bar", "baz foo foo"])), [[0, .3, .5, 0], [0, .6, 0, .2]], rtol=1e-6)
    sentence = ["Hello, World!. This is just a nice test!"]
    assert np.array(L.TextVectorization(
        vocabulary=["hello", "world", "this", "is", "nice", "test"])(sentence)).tolist() == \
        [[2, 3, 4, 5, 1, 1, 6, 7]]
    assert np.array(L.TextVectorization(standardize="lower", vocabulary=[
        "hello,", "hello", "world", "this", "is", "nice", "test"])(sentence)).tolist() == \
        [[2, 1, 5, 6, 1, 1, 7, 1]]
    assert np.array(L.TextVectorization(split="character", vocabulary=list("abcde"))(
        ["abcf"])).tolist() == [[2, 3, 4, 1]]
    assert np.array(L.TextVectorization(standardize="strip_punctuation", vocabulary=[
        "Hello", "World", "Test"])(["Hello, World! Test."])).tolist() == [[2, 3, 4]]
    assert np.array(L.TextVectorization(standardize=None, vocabulary=["Hello", "world"])(
        ["Hello hello"])).tolist() == [[2, 1]]


def test_text_vectorization_ngrams_lowercase_ascii_only_and_truncation():
    layer = L.TextVectorization(ngrams=2)
    layer.adapt(np.array(["foo bar", "bar baz"]))
    # Counts: bar 2; foo, baz, "foo bar", "bar baz" 1 (ties: larger token first).
    assert layer.get_vocabulary() == ["", "[UNK]", "bar", "foo bar", "foo", "baz", "bar baz"]
    assert np.array(layer(["foo bar baz"])).tolist() == [[4, 2, 5, 3, 6]]
    assert np.array(layer([b"FOO"])).tolist() == [[4]]
    # tf.strings.lower lowercases ASCII only: "\u00c9" stays upper case.
    accented = L.TextVectorization(vocabulary=["\u00e9t\u00e9"])
    assert np.array(accented(["\u00c9t\u00e9 \u00e9t\u00e9"])).tolist() == [[1, 2]]
    short = L.TextVectorization(vocabulary=["a"], output_sequence_length=2)
    assert np.array(short(["a a a", ""])).tolist() == [[2, 2], [0, 0]]
    with pytest.raises(ValueError, match="output_sequence_length"):
        L.TextVectorization(output_mode="count", output_sequence_length=3)


# ------------------------------------------------------- configs, fresh process

def test_lookup_configs_round_trip_and_hold_the_vocabulary_as_data():
    layer = L.TextVectorization(output_mode="tf_idf", ngrams=(1, 2))
    layer.adapt(["the cat sat", "the dog"])
    config = layer.get_config()
    assert config["vocabulary"] == layer.get_vocabulary()  # special tokens included
    again = L.TextVectorization.from_config(config)
    data = ["the cat", "a dog sat"]
    np.testing.assert_array_equal(np.array(again(data)), np.array(layer(data)))
    lookup = L.IntegerLookup(mask_token=0)
    lookup.adapt(np.array([3, 3, 5]))
    again = L.IntegerLookup.from_config(lookup.get_config())
    assert again.get_vocabulary() == lookup.get_vocabulary() == [0, -1, 3, 5]
    with pytest.raises(ValueError, match="function"):
        L.TextVectorization(standardize=str.upper).get_config()


def test_layers_round_trip_in_a_fresh_process(tmp_path):
    fresh = FreshProcess(tmp_path)
    fresh.add_layer(L.Hashing(7, salt=[5, 9], output_mode="count"),
                    np.array([["x", "y", "x"], ["zz", "", "y"]]))
    fresh.add_layer(L.Hashing(5, mask_value=3), np.array([[1, 3, 5]]))
    fresh.add_layer(L.HashedCrossing(11), (np.array(["A", "B"]), np.array([7, 8])))
    lookup = L.StringLookup(num_oov_indices=2, mask_token="", output_mode="int")
    lookup.adapt([["a", "b", "b"], ["c", "", "b"]])
    fresh.add_layer(lookup, np.array([["b", "q", ""], ["a", "c", "zz"]]))
    fresh.add_layer(L.StringLookup(vocabulary=VOCAB, invert=True), np.array([0, 1, 4, 9]))
    text = L.TextVectorization(output_mode="tf_idf", ngrams=2, max_tokens=6,
                               pad_to_max_tokens=True)
    text.adapt(["Red fish, blue fish.", "One fish; two fish!"])
    fresh.add_layer(text, np.array(["blue fish", "red red fish"]))
    seq = L.TextVectorization(output_sequence_length=5, split="character")
    seq.adapt(["hello", "help"])
    fresh.add_layer(seq, np.array(["hop", "hello world"]))
    fresh.check()
