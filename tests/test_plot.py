"""plot_model / model_to_dot on the guide's models.

The truth each drawing is checked against is the graph as the guide builds it
(which layer feeds which), written out by hand here; the SVG that Graphviz's
`dot` renders is parsed back (node titles, edge titles "src->dst", clusters).
"""

import shutil
import struct
import xml.etree.ElementTree as ET

import pytest

import mlxfunctional as keras
from mlxfunctional import layers
from mlxfunctional.utils import model_to_dot, plot_model
from mlxfunctional.utils.plot import GraphvizNotFoundError

# Rendering needs Graphviz's `dot` (scripts/setup.sh installs it where it can); writing
# DOT source and the missing-`dot` error do not.
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's `dot` is not installed")
SVG = "{http://www.w3.org/2000/svg}"


# -- the guide's models -------------------------------------------------------
def mnist():  # §2
    inputs = keras.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def _encoder(name_input):
    encoder_input = keras.Input(shape=(28, 28, 1), name=name_input)
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    return encoder_input, layers.GlobalMaxPooling2D()(x)


def _decoder_layers(x):
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    return layers.Conv2DTranspose(1, 3, activation="relu")(x)


def autoencoder_5():  # §5: one graph
    encoder_input, encoder_output = _encoder("img")
    x = layers.Reshape((4, 4, 1))(encoder_output)
    return keras.Model(encoder_input, _decoder_layers(x), name="autoencoder")


def autoencoder_6():  # §6: models called like layers
    encoder = keras.Model(*_encoder("original_img"), name="encoder")
    decoder_input = keras.Input(shape=(16,), name="encoded_img")
    x = layers.Reshape((4, 4, 1))(decoder_input)
    decoder = keras.Model(decoder_input, _decoder_layers(x), name="decoder")
    autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
    decoded = decoder(encoder(autoencoder_input))
    return keras.Model(autoencoder_input, decoded, name="autoencoder")


def ticket_router():  # §7.1
    title = keras.Input(shape=(None,), name="title")
    body = keras.Input(shape=(None,), name="body")
    tags = keras.Input(shape=(12,), name="tags")
    t = layers.LSTM(128)(layers.Embedding(10000, 64)(title))
    b = layers.LSTM(32)(layers.Embedding(10000, 64)(body))
    x = layers.concatenate([t, b, tags])
    priority = layers.Dense(1, activation="sigmoid", name="priority")(x)
    department = layers.Dense(4, activation="softmax", name="department")(x)
    return keras.Model([title, body, tags], [priority, department], name="ticket_router")


def toy_resnet():  # §7.2
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="toy_resnet")


def shared_embedding(heads=False):  # §8 (heads: one LSTM per branch after the shared layer)
    shared = layers.Embedding(1000, 128, name="shared_embedding")
    a = keras.Input(shape=(None,), dtype="int32", name="text_a")
    b = keras.Input(shape=(None,), dtype="int32", name="text_b")
    ea, eb = shared(a), shared(b)
    if heads:
        ea, eb = layers.LSTM(8, name="lstm_a")(ea), layers.LSTM(8, name="lstm_b")(eb)
    return keras.Model([a, b], [ea, eb], name="shared")


CHAIN_ENC = ["original_img", "conv2d", "conv2d_1", "max_pooling2d", "conv2d_2", "conv2d_3",
             "global_max_pooling2d"]
CHAIN_DEC = ["encoded_img", "reshape", "conv2d_transpose", "conv2d_transpose_1",
             "up_sampling2d", "conv2d_transpose_2", "conv2d_transpose_3"]


def _chain(names, prefix=""):
    return {(prefix + a, prefix + b) for a, b in zip(names, names[1:])}


# Independent truth: every model's drawn nodes and edges, written from the guide's code.
EXPECTED = {
    "mnist": (mnist, ["img", "dense", "dense_1", "dense_2"],
              _chain(["img", "dense", "dense_1", "dense_2"])),
    "autoencoder_5": (autoencoder_5, ["img"] + CHAIN_ENC[1:] + CHAIN_DEC[1:],
                      _chain(["img"] + CHAIN_ENC[1:] + CHAIN_DEC[1:])),
    "autoencoder_6": (autoencoder_6, ["img", "encoder", "decoder"],
                      {("img", "encoder"), ("encoder", "decoder")}),
    "ticket_router": (ticket_router,
                      ["title", "body", "embedding", "embedding_1", "lstm", "lstm_1", "tags",
                       "concatenate", "priority", "department"],
                      {("title", "embedding"), ("body", "embedding_1"), ("embedding", "lstm"),
                       ("embedding_1", "lstm_1"), ("lstm", "concatenate"),
                       ("lstm_1", "concatenate"), ("tags", "concatenate"),
                       ("concatenate", "priority"), ("concatenate", "department")}),
    "toy_resnet": (toy_resnet,
                   ["img", "conv2d", "conv2d_1", "max_pooling2d", "conv2d_2", "conv2d_3", "add",
                    "conv2d_4", "conv2d_5", "add_1", "conv2d_6", "global_average_pooling2d",
                    "dense", "dropout", "dense_1"],
                   _chain(["img", "conv2d", "conv2d_1", "max_pooling2d", "conv2d_2",
                           "conv2d_3", "add", "conv2d_4", "conv2d_5", "add_1", "conv2d_6",
                           "global_average_pooling2d", "dense", "dropout", "dense_1"])
                   | {("max_pooling2d", "add"), ("add", "add_1")}),
    "shared": (shared_embedding, ["text_a", "text_b", "shared_embedding"],
               {("text_a", "shared_embedding"), ("text_b", "shared_embedding")}),
}


def parse_svg(data):
    """(node titles, edge (src, dst) pairs, cluster titles) of an SVG rendered by `dot`."""
    root = ET.fromstring(data)
    found = {"node": [], "edge": [], "cluster": []}
    for g in root.iter(SVG + "g"):
        kind = g.get("class")
        if kind in found:
            found[kind].append(g.find(SVG + "title").text)
    edges = [tuple(t.split("->")) for t in found["edge"]]
    return found["node"], edges, found["cluster"]


def png_size(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@needs_dot
@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_svg_nodes_and_edges_match_the_graph(key, tmp_path):
    build, nodes, edges = EXPECTED[key]
    model = build()
    assert [l.name for l in model.layers] == nodes  # the fixture itself is right
    path = tmp_path / f"{key}.svg"
    plot_model(model, to_file=str(path), show_shapes=True)
    got_nodes, got_edges, clusters = parse_svg(path.read_bytes())
    assert sorted(got_nodes) == sorted(nodes)  # each layer once, shared ones included
    assert len(got_edges) == len(set(got_edges))
    assert set(got_edges) == edges
    assert clusters == []


@needs_dot
@pytest.mark.parametrize("key", ["mnist", "toy_resnet", "ticket_router"])
def test_png_header_and_size(key, tmp_path):
    path = tmp_path / f"{key}.png"
    plot_model(EXPECTED[key][0](), to_file=str(path), show_shapes=True)
    width, height = png_size(path)
    assert width > 50 and height > 50
    # the 15-layer chain drawn top to bottom is taller than wide
    if key == "toy_resnet":
        assert height > 2 * width
    else:  # three inputs side by side on one rank: wider than tall
        assert width > height


@needs_dot
def test_shared_layer_drawn_once_with_two_in_and_two_out_edges():
    model = shared_embedding(heads=True)
    nodes, edges, _ = parse_svg(model_to_dot(model).pipe(format="svg"))
    assert nodes.count("shared_embedding") == 1
    assert sorted(e for e in edges if e[0] == "shared_embedding") == [
        ("shared_embedding", "lstm_a"), ("shared_embedding", "lstm_b")]
    assert sorted(e for e in edges if e[1] == "shared_embedding") == [
        ("text_a", "shared_embedding"), ("text_b", "shared_embedding")]


@needs_dot
def test_expand_nested_draws_clusters_with_edges_across():
    model = autoencoder_6()
    nodes, edges, clusters = parse_svg(model_to_dot(model, expand_nested=True).pipe(format="svg"))
    assert sorted(clusters) == ["cluster_decoder", "cluster_encoder"]
    expected_nodes = ["img"] + [f"encoder/{n}" for n in CHAIN_ENC] + \
        [f"decoder/{n}" for n in CHAIN_DEC]
    assert sorted(nodes) == sorted(expected_nodes)
    expected_edges = ({("img", "encoder/original_img"),
                       ("encoder/global_max_pooling2d", "decoder/encoded_img")}
                      | _chain(CHAIN_ENC, "encoder/") | _chain(CHAIN_DEC, "decoder/"))
    assert set(edges) == expected_edges
    source = model_to_dot(model, expand_nested=True).source
    assert "subgraph cluster_encoder" in source and "subgraph cluster_decoder" in source


@needs_dot
def test_labels_show_shapes_dtype_activation_trainable():
    model = mnist()
    model.get_layer("dense_1").trainable = False
    src = model_to_dot(model, show_shapes=True, show_dtype=True,
                       show_layer_activations=True, show_trainable=True).source
    assert "<b>dense</b> (Dense)" in src and "<b>img</b> (InputLayer)" in src
    assert "Input shape: (None, 784)</td><td>Output shape: (None, 64)" in src
    assert "Output dtype: float32" in src
    assert "Activation: relu" in src and "Activation: softmax" in src
    assert src.count("Trainable: False") == 1 and src.count("Trainable: True") == 3
    plain = model_to_dot(model, show_layer_names=False).source
    assert "dense_1" not in plain.split("->")[0].split("label=")[-1]
    assert "Input shape" not in plain and "(Dense)" not in plain and ">Dense<" in plain


@needs_dot
def test_shared_layer_calls_with_other_shapes_say_multiple():
    model = shared_embedding()
    src = model_to_dot(model, show_shapes=True, show_dtype=True).source
    assert "Input dtype: int32" in src  # the same in both calls
    a = keras.Input(shape=(4, 3), name="a")
    b = keras.Input(shape=(6, 3), name="b")
    dense = layers.Dense(2, name="shared_dense")
    model = keras.Model([a, b], [dense(a), dense(b)])
    src = model_to_dot(model, show_shapes=True).source
    assert "Input shape: multiple</td><td>Output shape: multiple" in src
    assert "Input shape: (None, 4, 3)</td><td>Output shape: (None, 4, 3)" in src  # input a


@needs_dot
def test_multi_input_output_ranks_and_rankdir():
    src = model_to_dot(ticket_router(), rankdir="LR", dpi=96).source
    assert "rankdir=LR" in src and "dpi=96" in src
    assert "rank=min" in src and "rank=max" in src
    # the single-input chain needs no rank constraints
    assert "rank=" not in model_to_dot(mnist()).source


@needs_dot
def test_sequential_draws_its_input_layer():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(1)])
    nodes, edges, _ = parse_svg(model_to_dot(model).pipe(format="svg"))
    inp = model.inputs[0]._keras_history[0].name
    assert sorted(nodes) == sorted([inp, "dense", "dense_1"])
    assert set(edges) == {(inp, "dense"), ("dense", "dense_1")}
    with pytest.raises(ValueError, match="not yet been built"):
        model_to_dot(keras.Sequential([layers.Dense(2)]))


@needs_dot
def test_pdf_and_dot_formats(tmp_path):
    model = toy_resnet()
    plot_model(model, to_file=str(tmp_path / "m.pdf"))
    assert (tmp_path / "m.pdf").read_bytes()[:5] == b"%PDF-"
    plot_model(model, to_file=str(tmp_path / "m.dot"))
    assert (tmp_path / "m.dot").read_text() == model_to_dot(model).source
    with pytest.raises(ValueError, match="unknown format"):
        plot_model(model, to_file=str(tmp_path / "m.notaformat"))


def test_missing_dot_is_a_clear_error_and_dot_output_still_works(tmp_path, monkeypatch):
    model = mnist()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # graphviz looks `dot` up on PATH
    with pytest.raises(ImportError) as err:
        plot_model(model, to_file=str(tmp_path / "m.png"))
    assert isinstance(err.value, GraphvizNotFoundError)
    message = str(err.value)
    assert "brew install graphviz" in message and "apt-get install graphviz" in message
    assert not (tmp_path / "m.png").exists()  # no empty file left behind
    plot_model(model, to_file=str(tmp_path / "m.dot"))
    assert "img -> dense" in (tmp_path / "m.dot").read_text()
    assert model._repr_svg_() is None


@needs_dot
def test_repr_svg_for_notebooks():
    svg = toy_resnet()._repr_svg_()
    nodes, _, _ = parse_svg(svg.encode())
    assert "add_1" in nodes and len(nodes) == 15


@needs_dot
def test_a_tensor_used_twice_by_one_call_is_one_edge():
    x = keras.Input(shape=(3,), name="x")
    model = keras.Model(x, layers.add([x, x], name="double"))
    _, edges, _ = parse_svg(model_to_dot(model).pipe(format="svg"))
    assert edges == [("x", "double")]
