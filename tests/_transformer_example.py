"""The keras.io "Text classification with Transformer" model, written with the
functional API: a token + position embedding layer, one transformer block (MHA,
dropout, residual + LayerNormalization, a two-layer feed-forward network),
global average pooling, dropout, Dense 20 relu, dropout, Dense 2 softmax."""

import mlx.core as mx

import mlxfunctional as keras
from mlxfunctional import layers


@keras.saving.register_serializable(package="transformer_example")
class TokenAndPositionEmbedding(layers.Layer):
    """Token embedding plus a learned embedding of each position."""

    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.maxlen, self.vocab_size, self.embed_dim = maxlen, vocab_size, embed_dim
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = self.pos_emb(mx.arange(x.shape[-1]))
        return self.token_emb(x) + positions

    def get_config(self):
        config = super().get_config()
        config.update(maxlen=self.maxlen, vocab_size=self.vocab_size, embed_dim=self.embed_dim)
        return config


def transformer_classifier(maxlen=200, vocab_size=20000, embed_dim=32, num_heads=2, ff_dim=32,
                           rate=0.1):
    inputs = layers.Input(shape=(maxlen,), dtype="int32")
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    # The transformer block.
    attn = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)(x, x)
    attn = layers.Dropout(rate)(attn)
    out1 = layers.LayerNormalization(epsilon=1e-6)(x + attn)
    ffn = layers.Dense(ff_dim, activation="relu")(out1)
    ffn = layers.Dense(embed_dim)(ffn)
    ffn = layers.Dropout(rate)(ffn)
    x = layers.LayerNormalization(epsilon=1e-6)(out1 + ffn)
    # The classifier head.
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs=inputs, outputs=outputs)
