"""The convolutional networks (``model.net=conv``: channels 32, 64, kernel 3, then the default
hidden layers) through the engine: samples per second and the fraction of the step that its
convolutions alone take (the conv-only ceiling: the rate if the step did nothing else), in
PyTorch's default memory format and in ``channels_last``."""

import statistics
import time

import torch

from reducers import VAE, Conv, Trainer, TrainerSettings

BATCH = 128


def conv_model(seed: int, channels_last: bool) -> VAE:
    torch.manual_seed(seed)
    model = VAE(input_dim=784, net=Conv(hidden=[512, 256], channels=[32, 64], kernel_size=3),
                image_shape=(28, 28))
    return model.to(memory_format=torch.channels_last) if channels_last else model


def conv_layers(model: torch.nn.Module) -> list[tuple[torch.nn.Module, tuple[int, ...]]]:
    """Each convolution with the input shape it sees at batch size BATCH."""
    shapes = {}

    def record(module, inputs, output) -> None:
        shapes[module] = tuple(inputs[0].shape)

    hooks = [m.register_forward_hook(record) for m in model.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    with torch.no_grad():
        model.loss(torch.rand(BATCH, 784))
    for hook in hooks:
        hook.remove()
    return list(shapes.items())


def conv_seconds(model: torch.nn.Module, repeats: int, channels_last: bool) -> float:
    """Seconds per batch of the convolutions alone: forward, and backward to the weights and
    (but for the first layer, whose input is the data) to the inputs."""
    layers = conv_layers(model)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    inputs = [torch.rand(shape).to(memory_format=fmt).requires_grad_(i > 0)
              for i, (_, shape) in enumerate(layers)]
    grads = [layer(x).detach().clone() for (layer, _), x in zip(layers, inputs)]

    def once():
        for (layer, _), x, g in zip(layers, inputs, grads):
            layer(x).backward(g)

    once()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(10):
            once()
        times.append((time.perf_counter() - started) / 10)
    return statistics.median(times)


def conv_throughput(x: torch.Tensor, repeats: int, epochs: int = 1) -> dict:
    """Samples/s of the conv VAE (default format and channels_last, interleaved) and the
    fraction of each step its convolutions take."""
    report = {}
    rates = {False: [], True: []}
    for repeat in range(repeats):
        for channels_last, runs in rates.items():
            model = conv_model(repeat, channels_last)
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
            trainer = Trainer(TrainerSettings(epochs=epochs, batch_size=BATCH, progress=False))
            runs.append(trainer.fit(model, optimizer, x, seed=repeat).samples_per_second)
    for channels_last, runs in rates.items():
        rate = statistics.median(runs)
        conv = conv_seconds(conv_model(0, channels_last), repeats, channels_last)
        report["channels_last" if channels_last else "default_format"] = {
            "samples_per_second": rate, "conv_seconds_per_batch": conv,
            "fraction_of_conv_ceiling": conv / (BATCH / rate)}
    return report
