"""numpy references for the spectrogram layers, computed another way than the layers:
frames cut one by one and transformed with ``np.fft.rfft``, numpy's own window
functions, a mel filterbank built filter by filter from the HTK formula
``2595 log10(1 + f / 700)``; all in float64."""

import math

import numpy as np


def np_window(name, length, periodic):
    """numpy's window functions (symmetric); the periodic one is a sample longer, cut."""
    if name is None:
        return np.ones(length)
    make = {"hann": np.hanning, "hamming": np.hamming, "blackman": np.blackman,
            "bartlett": np.bartlett, "boxcar": np.ones}[name]
    return make(length + 1)[:-1] if periodic else make(length)


def np_stft_spectrogram(x, mode, frame_length, frame_step, fft_length, window, periodic,
                        scaling, padding, expand_dims=False, data_format="channels_last"):
    """One channel, one frame at a time, with np.fft.rfft; float64."""
    x = np.asarray(x, np.float64)
    if data_format == "channels_last":
        x = x.transpose(0, 2, 1)  # (batch, channels, time)
    n = x.shape[-1]
    win = np.asarray(window, np.float64) if not isinstance(window, (str, type(None))) \
        else np_window(window, frame_length, periodic)
    if window is not None and scaling == "density":
        win = win / math.sqrt((win ** 2).sum())
    elif window is not None and scaling == "spectrum":
        win = win / np.abs(win).sum()
    if padding == "same":
        # TensorFlow's documented SAME rule: ceil(n / stride) outputs, the padding
        # split with the extra sample at the end.
        count = math.ceil(n / frame_step)
        total = max((count - 1) * frame_step + frame_length - n, 0)
        x = np.pad(x, [(0, 0), (0, 0), (total // 2, total - total // 2)])
    else:
        count = (n - frame_length) // frame_step + 1
    batch, channels = x.shape[:2]
    bins = fft_length // 2 + 1
    spec = np.zeros((batch, channels, count, bins), np.complex128)
    for b in range(batch):
        for c in range(channels):
            for t in range(count):
                frame = x[b, c, t * frame_step:t * frame_step + frame_length] * win
                spec[b, c, t] = np.fft.rfft(frame, n=fft_length)
    power = spec.real ** 2 + spec.imag ** 2
    out = {"real": spec.real, "imag": spec.imag, "angle": np.angle(spec),
           "stft": np.concatenate([spec.real, spec.imag], -1),
           "magnitude": np.sqrt(np.maximum(power, 1e-7)),
           "log": np.log(np.maximum(np.sqrt(np.maximum(power, 1e-7)), 1e-7))}.get(mode)
    if mode == "psd":
        out = power.copy()
        out[..., 1:-1] *= 2
    # (batch, channels, frames, bins) -> the layer's layout
    if data_format == "channels_last":
        if expand_dims:
            return out.transpose(0, 2, 3, 1)
        return np.concatenate([out[:, c] for c in range(out.shape[1])], axis=-1)
    if expand_dims:
        return out
    return np.concatenate([out[:, c].transpose(0, 2, 1) for c in range(out.shape[1])], axis=1)


def np_mel_filterbank(num_mel, num_bins, sampling_rate, low_hz, high_hz):
    """Filter by filter: triangles on the HTK mel scale with peaks of 1, DC excluded."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)

    bin_mel = mel(np.arange(num_bins) * (sampling_rate / 2.0) / (num_bins - 1))
    step = (mel(high_hz) - mel(low_hz)) / (num_mel + 1)
    bank = np.zeros((num_bins, num_mel))
    for m in range(num_mel):
        left, centre, right = (mel(low_hz) + (m + k) * step for k in range(3))
        for k in range(1, num_bins):  # the DC bin stays 0
            if left < bin_mel[k] <= centre:
                bank[k, m] = (bin_mel[k] - left) / (centre - left)
            elif centre < bin_mel[k] < right:
                bank[k, m] = (right - bin_mel[k]) / (right - centre)
    return bank


def np_mel_spectrogram(x, fft_length=2048, sequence_stride=512, sequence_length=None,
                       window="hann", sampling_rate=16000, num_mel_bins=128, min_freq=20.0,
                       max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0,
                       min_power=1e-10, ref_power=1.0):
    x = np.asarray(x, np.float64)
    length = sequence_length or fft_length
    pad = fft_length // 2
    x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode="reflect")
    if isinstance(window, str):
        win = np_window(window, length, periodic=True)
    else:
        win = np.ones(length) if window is None else np.asarray(window, np.float64)
    left = (fft_length - length) // 2
    win = np.pad(win, (left, fft_length - length - left))  # centred in the frame
    count = 1 + (x.shape[-1] - fft_length) // sequence_stride
    frames = np.stack([x[..., t * sequence_stride:t * sequence_stride + fft_length]
                       for t in range(count)], axis=-2)
    spec = np.abs(np.fft.rfft(frames * win, axis=-1)) ** mag_exp
    bank = np_mel_filterbank(num_mel_bins, fft_length // 2 + 1, sampling_rate, min_freq,
                             max_freq or sampling_rate // 2)
    out = spec @ bank
    if power_to_db:
        out = 10 * np.log10(np.maximum(out, min_power)) \
            - 10 * np.log10(max(abs(ref_power), min_power))
        out = np.maximum(out, out.max() - top_db)
    return np.swapaxes(out, -1, -2)
