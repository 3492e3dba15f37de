"""Every script in examples/ runs to the end with tiny settings and prints what
the guide prints (parameter counts are the numbers Keras gives for the same
models; the RNN's feature shape is the guide's ``(1, 10, 32)`` line)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# script -> (tiny arguments, lines its output must contain)
CASES = {
    "mnist_mlp.py": (["--epochs", "1"], ["Total params: 55,050", "Test accuracy:"]),
    "distributed_mnist.py": (["--epochs", "1", "--sample", "--batch-size", "256"],
                             ["One process", "Total params: 55,050", "Test accuracy:",
                              "Rank 0 wrote 2 file(s)", "mnist_best.mlxf, training_log.csv",
                              "Best checkpoint (mnist_best.mlxf"]),
    "autoencoder.py": (["--epochs", "1", "--samples", "64"],
                       ["Total params: 18,672", "Total params: 28,241",
                        "Encoder output shape: (8, 16)",
                        "Encoder changed by training the autoencoder: True"]),
    "nested_models.py": ([], ["Total params: 18,672", "Total params: 9,569",
                              "Total params: 28,241", "Total params: 387",
                              "autoencoder(img) == decoder(encoder(img)): True",
                              "ensemble output == mean of its 3 models: True"]),
    "ticket_router.py": (["--epochs", "1", "--samples", "64", "--body-length", "12"],
                         ["Total params: 1,392,097"]),
    "toy_resnet.py": (["--epochs", "1", "--samples", "40", "--batch-size", "16"],
                      ["Total params: 223,242", "random CIFAR-10-shaped images"]),
    "shared_layers.py": ([], ["Total params: 128,000", "called 2 times",
                              "Encoded shapes: (1, 4, 128) (1, 4, 128)",
                              "Same word, same vector through either input: True"]),
    "feature_extraction.py": (["--image-size", "32", "--weights", "none"],
                              ["RANDOM weights", "vgg19: 22 layers, 20,024,384 parameters",
                               "Extracted 22 feature maps",
                               "block1_conv1     (1, 32, 32, 64)",
                               "block5_pool      (1, 1, 1, 512)"]),
    "custom_layer.py": (["--epochs", "3"],
                        ["Total params: 50", "Rebuilt from its config with custom_objects: "
                         "50 parameters, same outputs: True"]),
    "custom_rnn.py": (["--epochs", "1", "--samples", "16"],
                      ["Total params: 2,657", "CustomRNN on zeros((1, 10, 5)): (1, 10, 1)"]),
    "vae.py": (["--epochs", "2", "--samples", "256"],
               ["Logged per epoch: ['kl_loss', 'loss', 'reconstruction_loss']",
                "Reconstructions: (8, 784)"]),
    "subclassing.py": ([], ["Total params: 2,762", "Subclassed MLP parameters: 2,762",
                            "Same weights, same outputs: True",
                            "Rebuilt from its config alone: 2762 parameters"]),
}


def run(script, *args, cwd=None, env=None):
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env=None if env is None else {**os.environ, **env})
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-2000:]}\n{done.stderr}"
    # Importing mlx.core before mlxfunctional would warn (slow BLAS): examples must not.
    assert "Traceback" not in done.stderr and "RuntimeWarning" not in done.stderr, done.stderr
    return done.stdout


def test_every_example_is_tested_and_has_main():
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(CASES)
    for name in scripts:
        source = (EXAMPLES / name).read_text()
        assert "def main(argv=None):" in source and 'if __name__ == "__main__":' in source


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs(script):
    args, expected = CASES[script]
    out = run(script, *args)
    for line in expected:
        assert line in out, f"{script}: {line!r} not in output:\n{out}"


def test_mnist_mlp_learns_saves_reloads_and_plots(tmp_path):
    model_file, drawing = tmp_path / "m.mlxf", tmp_path / "m.svg"
    out = run("mnist_mlp.py", "--epochs", "1", "--save", str(model_file),
              "--plot", str(drawing))
    # One epoch on 6,400 real images: far above chance (0.1) on the 2,000 held out.
    accuracy = float(re.search(r"Test accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.8
    assert "reloaded it: identical predictions on 2,000 samples" in out
    assert model_file.stat().st_size > 55_050 * 4  # the float32 weights are in it
    if shutil.which("dot"):
        assert drawing.read_text().lstrip().startswith(("<?xml", "<svg"))
    else:
        assert "Plot skipped" in out and not drawing.exists()


def test_guide_output_lines():
    out = run("custom_rnn.py", "--epochs", "1", "--samples", "16")
    assert out.splitlines()[0] == "(1, 10, 32)"  # the guide prints exactly this first
    out = run("ticket_router.py", "--epochs", "2", "--samples", "32", "--body-length", "8")
    epochs = re.findall(r"loss: ([0-9.]+) - priority_loss: ([0-9.]+) - "
                        r"department_loss: ([0-9.]+)", out)
    assert len(epochs) == 2
    for total, priority, department in epochs:
        # loss_weights {priority: 1, department: 0.2}; the log shows 4 decimals.
        assert float(total) == pytest.approx(float(priority) + 0.2 * float(department),
                                             abs=2e-3)


def test_custom_layer_trains_and_reloads_with_custom_objects(tmp_path):
    out = run("custom_layer.py", "--epochs", "4", "--save", str(tmp_path / "c.mlxf"))
    first, last = map(float, re.search(r"loss ([0-9.]+) -> ([0-9.]+)", out).groups())
    assert last < first / 4
    assert "identical predictions" in out


def test_feature_extraction_says_when_it_falls_back_to_random_weights(tmp_path):
    # Offline, with empty caches: the Hub weights cannot be had.
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub"),
           "MLXF_HOME": str(tmp_path / "mlxf")}
    out = run("feature_extraction.py", "--image-size", "32", env=env)
    assert "pretrained weights are not available" in out and "timm/vgg19.tv_in1k" in out
    assert "RANDOM weights" in out and "Style layers" in out
