"""A variational autoencoder with its own train_step, on the bundled MNIST sample.

The subclassing guide's end-to-end example, written for MLX: an encoder that
ends in a sampling layer (the reparameterization trick), a decoder, and a
``VAE`` model whose ``train_step`` takes the gradient of the reconstruction
loss plus the KL divergence with ``nn.value_and_grad`` and applies it with
``optimizer.update`` -- the MLX way to customize what ``fit`` does. Three
``Mean`` trackers, listed in the model's ``metrics``, are reset at each epoch's
start and logged by ``fit`` under their names.
"""

import mlxfunctional as keras  # before mlx.core: it picks the BLAS MLX uses
import mlx.core as mx
import mlx.nn as nn
from mlxfunctional import layers
from mlxfunctional.datasets import mnist

from _common import parser


class Sampling(layers.Layer):
    """Draws ``z = mean + exp(log_var / 2) * epsilon`` with ``epsilon ~ N(0, 1)``.

    The noise comes from ``mx.random``: inside ``fit``'s compiled step the random
    state is captured, so every step draws new noise.
    """

    def call(self, inputs):
        mean, log_var = inputs
        epsilon = mx.random.normal(mean.shape)
        return mean + mx.exp(0.5 * log_var) * epsilon


def build_encoder(latent_dim, original_dim=784, hidden=64):
    inputs = keras.Input(shape=(original_dim,), name="image")
    h = layers.Dense(hidden, activation="relu")(inputs)
    mean = layers.Dense(latent_dim, name="z_mean")(h)
    log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = Sampling(name="z")([mean, log_var])
    return keras.Model(inputs, [mean, log_var, z], name="encoder")


def build_decoder(latent_dim, original_dim=784, hidden=64):
    inputs = keras.Input(shape=(latent_dim,), name="z")
    h = layers.Dense(hidden, activation="relu")(inputs)
    outputs = layers.Dense(original_dim, activation="sigmoid")(h)
    return keras.Model(inputs, outputs, name="decoder")


def binary_crossentropy(target, output, eps=1e-7):
    output = mx.clip(output, eps, 1 - eps)
    return -(target * mx.log(output) + (1 - target) * mx.log(1 - output))


class VAE(keras.Model):
    """Encoder + decoder, trained on the ELBO by a custom ``train_step``.

    Args:
        encoder: maps images to ``[z_mean, z_log_var, z]``.
        decoder: maps ``z`` to images.
    """

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        # What fit resets at each epoch's start and logs.
        return [self.total_loss_tracker, self.reconstruction_loss_tracker,
                self.kl_loss_tracker]

    def call(self, inputs):
        _, _, z = self.encoder(inputs)
        return self.decoder(z)

    def losses_of(self, x):
        """``(total, reconstruction, kl)``: means over the batch of per-image sums."""
        mean, log_var, z = self.encoder(x, training=True)
        reconstruction = self.decoder(z, training=True)
        reconstruction_loss = mx.mean(mx.sum(binary_crossentropy(x, reconstruction), axis=1))
        kl = -0.5 * (1 + log_var - mx.square(mean) - mx.exp(log_var))
        kl_loss = mx.mean(mx.sum(kl, axis=1))
        return reconstruction_loss + kl_loss, reconstruction_loss, kl_loss

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)

        def loss_fn(x):
            total, reconstruction_loss, kl_loss = self.losses_of(x)
            return total, (reconstruction_loss, kl_loss)

        # Gradients of the first output with respect to the model's trainable weights
        # (encoder and decoder: they are attributes, so part of the module tree).
        (total, (reconstruction_loss, kl_loss)), grads = nn.value_and_grad(self, loss_fn)(x)
        self.optimizer.update(self, grads)
        self.total_loss_tracker.update_state(total)
        self.reconstruction_loss_tracker.update_state(reconstruction_loss)
        self.kl_loss_tracker.update_state(kl_loss)
        return {m.name: m.result() for m in self.metrics}


def main(argv=None):
    p = parser(__doc__, epochs=2, batch_size=64, plot=False)
    p.add_argument("--samples", type=int, default=2048,
                   help="bundled MNIST images to train on (default 2048)")
    p.add_argument("--latent-dim", type=int, default=2, help="default 2")
    args = p.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    (x_train, _), _ = mnist.load_data(sample=True)
    x = x_train[:args.samples].reshape(-1, 784).astype("float32") / 255

    encoder = build_encoder(args.latent_dim)
    decoder = build_decoder(args.latent_dim)
    encoder.summary()
    decoder.summary()
    vae = VAE(encoder, decoder, name="vae")
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vae.fit(x, epochs=args.epochs, batch_size=args.batch_size, verbose=2)
    logged = history.history
    print("Logged per epoch:", sorted(logged))
    print("ELBO loss fell:", logged["loss"][-1] < logged["loss"][0])
    reconstruction = vae.predict(x[:8], verbose=0)
    print("Reconstructions:", reconstruction.shape)


if __name__ == "__main__":
    main()
