"""Train the bundled test model on generated scenes, on CPU, deterministically.

    python -m tools.train_testmodel --out apps/search/testmodel/testmodel.pt

Training is bounded by a step count (not wall-clock) so the same seed gives the same weights. Each image
is paired with an English and a Russian caption (sometimes wrapped in the query-path prompt templates).
Two things make a from-scratch CLIP learn in minutes on two cores: batches made of near-duplicate pairs
(scenes differing in one attribute, i.e. hard negatives), and auxiliary linear attribute heads on both
towers that give a direct signal for kind/colour/count/position/background. The heads are dropped;
the checkpoint holds only the open_clip model's weights, in float16.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import random
import time
from io import BytesIO
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter

from apps.search.prompts import EN_TEMPLATES, RU_TEMPLATES
from apps.search.testmodel import TESTMODEL_CHECKPOINT, TESTMODEL_NAME, register_testmodel_config
from apps.search.testmodel.evaluation import evaluate_testmodel, heldout_scenes, recall_at_k
from apps.search.testmodel.scenes import (
    ALL_BACKGROUNDS,
    COLOURS,
    COUNTS,
    OBJECTS,
    PLAIN,
    POSITIONS,
    SceneSpec,
    all_single_group_specs,
    caption_en,
    caption_ru,
    random_spec,
    render,
)

IMAGE_SIZE = 64
MEAN = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(1, 3, 1, 1)  # open_clip's OpenAI defaults
STD = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(1, 3, 1, 1)
RENDER_SIZES: tuple[tuple[int, int], ...] = ((64, 64), (80, 80), (96, 96), (128, 128), (160, 160), (224, 224),
                                             (128, 72), (192, 108), (160, 120))
BACKGROUND_CLASSES = [b for b in ALL_BACKGROUNDS if b != PLAIN] + [f"plain-{c}" for c in COLOURS]
ATTRIBUTES: dict[str, list] = {
    "kind": list(OBJECTS), "colour": list(COLOURS), "count": list(COUNTS), "position": list(POSITIONS),
    "background": BACKGROUND_CLASSES,
}


@dataclasses.dataclass
class Config:
    steps: int = 450
    batch: int = 128
    n_images: int = 16_384
    lr: float = 1.5e-3
    warmup: int = 40
    weight_decay: float = 0.05
    aux_weight: float = 0.5
    template_p: float = 0.5
    eval_every: int = 100
    ssl_batch: int = 64
    ssl_scenes: int = 16
    ssl_weight: float = 0.5
    ssl_temperature: float = 0.1
    seed: int = 0
    threads: int = 2
    init: str | None = None  # start from this checkpoint (fine-tuning) instead of random weights


# ---------------------------------------------------------------------------------------------- data


def mutate(spec: SceneSpec, rng: np.random.Generator) -> SceneSpec:
    """A scene differing from ``spec`` in exactly one attribute: a hard negative for the same batch."""
    g = spec.groups[0]
    while True:
        field = str(rng.choice(["kind", "colour", "count", "position", "background"]))
        if field == "background":
            background = str(rng.choice(ALL_BACKGROUNDS))
            bg_colour = str(rng.choice(list(COLOURS))) if background == PLAIN else None
            candidate = (background, (g,), bg_colour)
        else:
            value = rng.choice(ATTRIBUTES[field])
            new = dataclasses.replace(g, **{field: int(value) if field == "count" else str(value)})
            candidate = (spec.background, (new,), spec.background_colour)
        try:
            other = SceneSpec(*candidate)
        except ValueError:
            continue
        if caption_en(other) != caption_en(spec):
            return other


def _degrade(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Mimic video frames: sometimes JPEG artefacts or a slight blur."""
    r = rng.random()
    if r < 0.3:
        buf = BytesIO()
        img.save(buf, format="JPEG", quality=int(rng.integers(35, 90)))
        return Image.open(BytesIO(buf.getvalue())).convert("RGB")
    if r < 0.45:
        return img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.9)) * min(img.size) / 128))
    return img


def to_model_pixels(img: Image.Image) -> np.ndarray:
    """Resize the short side and centre-crop to IMAGE_SIZE, as open_clip's eval transform does."""
    w, h = img.size
    scale = IMAGE_SIZE / min(w, h)
    img = img.resize((max(IMAGE_SIZE, round(w * scale)), max(IMAGE_SIZE, round(h * scale))), Image.BICUBIC)
    left, top = (img.width - IMAGE_SIZE) // 2, (img.height - IMAGE_SIZE) // 2
    return np.asarray(img.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE)), dtype=np.uint8)


def build_dataset(n: int, seed: int) -> tuple[torch.Tensor, list[SceneSpec]]:
    """Render ``n`` images (pairs of near-duplicate scenes) as uint8 (n, 64, 64, 3)."""
    specs: list[SceneSpec] = []
    pixels = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    for i in range(0, n, 2):
        rng = np.random.default_rng([seed, 7, i])
        base = random_spec(rng)
        for j, spec in enumerate((base, mutate(base, rng))[: n - i]):
            size = RENDER_SIZES[int(rng.integers(len(RENDER_SIZES)))]
            pixels[i + j] = to_model_pixels(_degrade(render(spec, size, rng), rng))
            specs.append(spec)
    return torch.from_numpy(pixels), specs


def attribute_targets(specs: list[SceneSpec]) -> dict[str, torch.Tensor]:
    """Class indices of each attribute, for the auxiliary heads."""
    out: dict[str, list[int]] = {k: [] for k in ATTRIBUTES}
    for s in specs:
        g = s.groups[0]
        out["kind"].append(ATTRIBUTES["kind"].index(g.kind))
        out["colour"].append(ATTRIBUTES["colour"].index(g.colour))
        out["count"].append(ATTRIBUTES["count"].index(g.count))
        out["position"].append(ATTRIBUTES["position"].index(g.position))
        bg = s.background if s.background != PLAIN else f"plain-{s.background_colour}"
        out["background"].append(BACKGROUND_CLASSES.index(bg))
    return {k: torch.tensor(v) for k, v in out.items()}


def text_variant(caption: str, lang: str, rnd: random.Random, template_p: float) -> str:
    """Caption as a user might type it: maybe templated, "е" for "ё", "center" for "centre"."""
    if lang == "ru" and rnd.random() < 0.3:
        caption = caption.replace("ё", "е")
    if lang == "en" and rnd.random() < 0.3:
        caption = caption.replace("centre", "center")
    if rnd.random() < template_p:
        caption = rnd.choice((EN_TEMPLATES if lang == "en" else RU_TEMPLATES)[1:]).format(caption)
    return caption


def augment(pixels: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """uint8 NHWC -> normalised NCHW float, with mild colour jitter and scale/shift."""
    x = pixels.permute(0, 3, 1, 2).float() / 255.0
    n = x.shape[0]
    u = torch.rand(n, 5, generator=gen)
    brightness, contrast, saturation = 0.9 + 0.2 * u[:, 0], 0.9 + 0.2 * u[:, 1], 0.85 + 0.3 * u[:, 2]
    x = x * brightness.view(n, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * contrast.view(n, 1, 1, 1) + mean
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * saturation.view(n, 1, 1, 1) + grey
    scale = 0.9 + 0.2 * u[:, 3]
    shift = (torch.rand(n, 2, generator=gen) - 0.5) * 0.08
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = 1 / scale, 1 / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return (x.clamp(0, 1) - MEAN) / STD


# ---------------------------------------------------------------------------------------------- natural-like images


def pink_noise(n: int, size: int, gen: torch.Generator, alpha: torch.Tensor) -> torch.Tensor:
    """(n, 1, size, size) zero-mean unit-variance noise with a 1/f**alpha amplitude spectrum."""
    white = torch.randn(n, 1, size, size, generator=gen)
    f = torch.fft.fftfreq(size)
    radius = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2).clamp(min=1.0 / size)
    x = torch.fft.ifft2(torch.fft.fft2(white) / radius.pow(alpha.view(n, 1, 1, 1))).real
    return (x - x.mean(dim=(2, 3), keepdim=True)) / (x.std(dim=(2, 3), keepdim=True) + 1e-6)


def natural_images(n: int, gen: torch.Generator, size: int = 96, max_regions: int = 8) -> torch.Tensor:
    """Procedural natural-looking images (n, 3, size, size) in [0, 1], never real footage.

    Voronoi-like regions (flat cartoon areas, walls, sky) each with its own colour, a pink-noise texture
    (foliage, stone, grain) and oriented stripes (bricks, fences, fabric), under a global illumination
    gradient and coloured 1/f noise; some get blurred into soft blobs.
    """
    u = lambda *shape: torch.rand(*shape, generator=gen)  # noqa: E731
    k = max_regions
    coords = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    seeds = u(n, k, 2) * 2.4 - 1.2
    stretch = 0.5 + 1.5 * u(n, k, 1, 1)
    dist = (xx - seeds[:, :, 0, None, None]) ** 2 * stretch + (yy - seeds[:, :, 1, None, None]) ** 2 / stretch
    active = u(n, k) < (0.15 + 0.85 * u(n, 1))  # 1..k regions per image
    active[:, 0] = True
    dist = dist + (~active).float()[:, :, None, None] * 100.0
    onehot = F.one_hot(dist.argmin(dim=1), k).permute(0, 3, 1, 2).float()  # (n, k, H, W)

    colours = u(n, k, 3) ** (0.6 + 0.8 * u(n, 1, 1))
    tex_amp = u(n, k) * 0.25 * (u(n, k) < 0.6)
    stripe_amp = u(n, k) * 0.25 * (u(n, k) < 0.3)
    freq = 2 + 14 * u(n, k)
    angle = math.pi * u(n, k)
    phase = 2 * math.pi * u(n, k)
    stripes = torch.sin(math.pi * freq[:, :, None, None] * (
        torch.cos(angle)[:, :, None, None] * xx + torch.sin(angle)[:, :, None, None] * yy) + phase[:, :, None, None])
    sharp = u(n, k) < 0.4  # square-wave stripes (bricks, fences)
    stripes = torch.where(sharp[:, :, None, None], torch.sign(stripes), stripes)

    texture = pink_noise(n, size, gen, 0.8 + 1.2 * u(n))  # (n, 1, H, W)
    x = torch.einsum("nkhw,nkc->nchw", onehot, colours)
    x = x + (onehot * tex_amp[:, :, None, None]).sum(1, keepdim=True) * texture
    x = x + (onehot * stripe_amp[:, :, None, None] * stripes).sum(1, keepdim=True)
    colour_noise = torch.cat([pink_noise(n, size, gen, 1.0 + 1.0 * u(n)) for _ in range(2)], dim=1)
    x = x + torch.einsum("nfhw,nfc->nchw", colour_noise, (u(n, 2, 3) - 0.5) * 0.2 * u(n, 1, 1))
    light = 1 + (u(n, 1, 1, 1) - 0.5) * 0.8 * (xx * math.cos(1) + yy * math.sin(1)) * (u(n, 1, 1, 1) * 2 - 1)
    x = x * light
    soft = (u(n) < 0.3).view(n, 1, 1, 1)
    x = torch.where(soft, blur(x, 3), x)
    return x.clamp(0, 1)


def blur(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Separable box-ish Gaussian blur of NCHW images."""
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    w = torch.exp(-(t ** 2) / (2 * (radius / 2) ** 2))
    w = (w / w.sum()).to(x.dtype)
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), w.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), w.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def frame_view(base: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A normalised 64 px view of each image as a nearby video frame or keyframe might show it.

    Zoom (crop of 50-100% area), small translation, brightness/contrast/colour jitter, blur,
    downscale-upscale, sensor noise, JPEG.
    """
    n = base.shape[0]
    u = lambda *shape: torch.rand(*shape, generator=gen)  # noqa: E731
    area = 0.5 + 0.5 * u(n)
    aspect = torch.exp((u(n) - 0.5) * 2 * math.log(1.2))
    sx, sy = (area * aspect).sqrt().clamp(max=1), (area / aspect).sqrt().clamp(max=1)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = sx, sy
    theta[:, 0, 2], theta[:, 1, 2] = (u(n) * 2 - 1) * (1 - sx), (u(n) * 2 - 1) * (1 - sy)
    grid = F.affine_grid(theta, [n, 3, IMAGE_SIZE, IMAGE_SIZE], align_corners=False)
    x = F.grid_sample(blur(base, 1), grid, mode="bilinear", padding_mode="border", align_corners=False)

    j = u(n, 6)
    x = x * (0.75 + 0.5 * j[:, 0]).view(n, 1, 1, 1) * (0.93 + 0.14 * u(n, 3, 1, 1))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * (0.75 + 0.5 * j[:, 1]).view(n, 1, 1, 1) + mean
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * (0.7 + 0.6 * j[:, 2]).view(n, 1, 1, 1) + grey
    x = torch.where((j[:, 3] < 0.3).view(n, 1, 1, 1), blur(x, 2), x)
    small = F.interpolate(F.interpolate(x, size=(32, 32), mode="area"), size=(IMAGE_SIZE, IMAGE_SIZE),
                          mode="bilinear", align_corners=False)
    x = torch.where((j[:, 4] < 0.3).view(n, 1, 1, 1), small, x)
    x = x + torch.randn(x.shape, generator=gen) * 0.02 * (j[:, 5] < 0.3).view(n, 1, 1, 1)
    x = x.clamp(0, 1)
    quality = (20 + 70 * u(n)).int().tolist()
    use_jpeg = (u(n) < 0.3).tolist()
    for i in range(n):
        if use_jpeg[i]:
            buf = BytesIO()
            Image.fromarray((x[i].permute(1, 2, 0) * 255).round().byte().numpy()).save(
                buf, format="JPEG", quality=quality[i])
            x[i] = torch.from_numpy(np.array(Image.open(BytesIO(buf.getvalue())).convert("RGB"))).permute(
                2, 0, 1).float() / 255.0
    return (x - MEAN) / STD


def instance_loss(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR NT-Xent between two views: every other view in both sets is a negative."""
    z = torch.cat([a, b])
    n = a.shape[0]
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(logits, target)


# ---------------------------------------------------------------------------------------------- model


def caption_token_ids(tokenizer) -> torch.Tensor:
    """Every token id a training text can contain (BPE encodes each word on its own)."""
    words: set[str] = set()
    for template in (*EN_TEMPLATES, *RU_TEMPLATES):
        words.update(template.format("").split())
    for spec in all_single_group_specs():
        for text in (caption_en(spec), caption_ru(spec)):
            words.update(text.split())
            words.update(text.replace("ё", "е").replace("centre", "center").split())
    ids = {0, tokenizer.sot_token_id, tokenizer.eot_token_id}
    for word in words:
        ids.update(tokenizer.encode(word))
    return torch.tensor(sorted(ids))


class CompactEmbedding(torch.nn.Module):
    """Training-time stand-in for the 49408-row token table holding only the rows captions use.

    Saves the dense gradient and AdamW update of ~6M never-used parameters on every step.
    """

    def __init__(self, full: torch.nn.Embedding, ids: torch.Tensor) -> None:
        super().__init__()
        self.ids = ids
        self.weight = torch.nn.Parameter(full.weight.detach()[ids].clone())
        self.lookup = torch.full((full.num_embeddings,), -1, dtype=torch.long)
        self.lookup[ids] = torch.arange(len(ids))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return F.embedding(self.lookup[tokens], self.weight)  # an unknown token fails loudly (index -1)

    def full_table(self, num_embeddings: int) -> torch.nn.Embedding:
        """The open_clip-shaped table: trained rows in place, zeros for tokens no caption uses."""
        table = torch.nn.Embedding(num_embeddings, self.weight.shape[1])
        table.weight.data.zero_()
        table.weight.data[self.ids] = self.weight.detach()
        return table



def encode_text_trimmed(model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """open_clip's CLIP.encode_text on tokens cut after the longest caption in the batch.

    The text tower is causal and pools at the end-of-text token, so the padding after it never
    influences the result: trimming is exact and makes Russian captions (~1 token per letter) cheap.
    """
    length = int((tokens != 0).sum(dim=1).max())
    tokens = tokens[:, :length]
    x = model.token_embedding(tokens) + model.positional_embedding[:length]
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)] @ model.text_projection
    return F.normalize(x, dim=-1)


class AttributeHeads(torch.nn.Module):
    """Linear classifiers from an embedding to each scene attribute (training-only)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.heads = torch.nn.ModuleDict({k: torch.nn.Linear(dim, len(v)) for k, v in ATTRIBUTES.items()})

    def loss(self, emb: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(F.cross_entropy(h(emb * 10.0), targets[k]) for k, h in self.heads.items()) / len(self.heads)


def contrastive_loss(a: torch.Tensor, b: torch.Tensor, same: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE; identical scenes in a batch share the target mass instead of being negatives."""
    logits = scale * a @ b.T
    target = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (torch.sum(-target * F.log_softmax(logits, 1), 1).mean()
                  + torch.sum(-target * F.log_softmax(logits.T, 1), 1).mean())


class ModelEmbedder:
    """Embedder-protocol view of an in-memory model, for evaluation during training."""

    def __init__(self, model: torch.nn.Module, tokenizer, preprocess=None) -> None:
        self.model, self.tokenizer, self.preprocess = model, tokenizer, preprocess
        self.model_id, self.dim = f"open_clip:{TESTMODEL_NAME}/training", int(model.text_projection.shape[1])

    @torch.no_grad()
    def encode_images(self, images) -> np.ndarray:
        if self.preprocess is not None:
            x = torch.stack([self.preprocess(im) for im in images])
        else:
            pixels = torch.from_numpy(np.stack([to_model_pixels(im.convert("RGB")) for im in images]))
            x = (pixels.permute(0, 3, 1, 2).float() / 255.0 - MEAN) / STD
        return F.normalize(self.model.encode_image(x), dim=-1).numpy().astype(np.float32)

    @torch.no_grad()
    def encode_texts(self, texts) -> np.ndarray:
        return encode_text_trimmed(self.model, self.tokenizer(list(texts))).numpy().astype(np.float32)


def param_groups(model: torch.nn.Module, heads: torch.nn.Module, wd: float) -> list[dict]:
    """Weight decay on weight matrices only; never on embeddings, norms, biases or the temperature."""
    decay, no_decay = [], []
    for name, p in [*model.named_parameters(), *heads.named_parameters()]:
        if p.ndim < 2 or "embedding" in name or name in {"class_embedding", "visual.class_embedding"}:
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


# ---------------------------------------------------------------------------------------------- loop


def quick_val(embedder: ModelEmbedder, specs: list[SceneSpec], images: list[Image.Image]) -> str:
    img = embedder.encode_images(images)
    parts = []
    for lang, cap in (("en", caption_en), ("ru", caption_ru)):
        r = recall_at_k(embedder.encode_texts([cap(s) for s in specs]), img)
        parts.append(f"{lang} R@1={r['R@1']:.3f} R@5={r['R@5']:.3f}")
    return " ".join(parts)


def train(cfg: Config, out: Path) -> dict:
    """Run training, save the float16 checkpoint to ``out`` and return held-out metrics."""
    import open_clip

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True)
    rnd = random.Random(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    ssl_gen = torch.Generator().manual_seed(cfg.seed + 1)
    t0 = time.time()

    register_testmodel_config()
    model = open_clip.create_model(TESTMODEL_NAME)
    tokenizer = open_clip.get_tokenizer(TESTMODEL_NAME)
    if cfg.init:
        model.load_state_dict(torch.load(cfg.init, map_location="cpu"))
    heads = AttributeHeads(int(model.text_projection.shape[1]))
    print(f"model params: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M", flush=True)
    vocab_size = model.token_embedding.num_embeddings
    model.token_embedding = CompactEmbedding(model.token_embedding, caption_token_ids(tokenizer))
    print(f"trained token rows: {len(model.token_embedding.ids)} of {vocab_size}", flush=True)

    pixels, specs = build_dataset(cfg.n_images, cfg.seed)
    targets = attribute_targets(specs)
    captions = {"en": [caption_en(s) for s in specs], "ru": [caption_ru(s) for s in specs]}
    ids: dict[str, int] = {}
    keys = torch.tensor([ids.setdefault(c, len(ids)) for c in captions["en"]], dtype=torch.int64)
    val_specs, val_images = heldout_scenes(200, seed=cfg.seed + 555_000)
    print(f"dataset: {len(specs)} images in {time.time() - t0:.0f}s", flush=True)

    opt = torch.optim.AdamW(param_groups(model, heads, cfg.weight_decay), lr=cfg.lr, betas=(0.9, 0.98), eps=1e-6)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / cfg.warmup) * (
        0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / cfg.steps)))))
    n_pairs = cfg.n_images // 2
    order = torch.randperm(n_pairs, generator=gen)
    cursor = 0
    model.train()
    for step in range(1, cfg.steps + 1):
        if cursor + cfg.batch // 2 > n_pairs:
            order, cursor = torch.randperm(n_pairs, generator=gen), 0
        pairs = order[cursor: cursor + cfg.batch // 2]
        cursor += cfg.batch // 2
        idx = torch.stack([2 * pairs, 2 * pairs + 1], dim=1).flatten()
        x = augment(pixels[idx], gen)
        texts = {lang: [text_variant(captions[lang][i], lang, rnd, cfg.template_p) for i in idx.tolist()]
                 for lang in ("en", "ru")}
        batch_targets = {k: v[idx] for k, v in targets.items()}
        same = (keys[idx][:, None] == keys[idx][None, :]).float()

        img = F.normalize(model.encode_image(x), dim=-1)
        txt = {lang: encode_text_trimmed(model, tokenizer(t)) for lang, t in texts.items()}
        scale = model.logit_scale.exp().clamp(max=100)
        clip = (contrastive_loss(img, txt["en"], same, scale) + contrastive_loss(img, txt["ru"], same, scale)
                + 0.5 * contrastive_loss(txt["en"], txt["ru"], same, scale)) / 2.5
        aux = (heads.loss(img, batch_targets) + heads.loss(txt["en"], batch_targets)
               + heads.loss(txt["ru"], batch_targets)) / 3
        loss = clip + cfg.aux_weight * aux
        if cfg.ssl_weight > 0:
            scenes = F.interpolate(pixels[idx[: cfg.ssl_scenes]].permute(0, 3, 1, 2).float() / 255.0, size=(96, 96),
                                   mode="bilinear", align_corners=False)
            base = torch.cat([natural_images(cfg.ssl_batch - cfg.ssl_scenes, ssl_gen), scenes])
            views = F.normalize(model.encode_image(torch.cat([frame_view(base, ssl_gen), frame_view(base, ssl_gen)])),
                                dim=-1)
            ssl = instance_loss(views[: len(base)], views[len(base):], cfg.ssl_temperature)
            loss = loss + cfg.ssl_weight * ssl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 20 == 0 or step == 1:
            print(f"step {step}/{cfg.steps} loss {loss.item():.3f} clip {clip.item():.3f} aux {aux.item():.3f} "
                  f"ssl {ssl.item() if cfg.ssl_weight > 0 else 0:.3f} scale {scale.item():.1f} "
                  f"lr {sched.get_last_lr()[0]:.2e} t={time.time() - t0:.0f}s", flush=True)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            model.eval()
            print(f"  val @{step}: {quick_val(ModelEmbedder(model, tokenizer), val_specs, val_images)}", flush=True)
            model.train()

    model.eval()
    model.token_embedding = model.token_embedding.full_table(vocab_size)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, out)
    train_seconds = time.time() - t0
    metrics = evaluate_testmodel(ModelEmbedder(model, tokenizer))
    print(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB); training took {train_seconds:.0f}s", flush=True)
    print(f"held-out (in-memory fp32): {metrics}", flush=True)
    loaded, _, preprocess = open_clip.create_model_and_transforms(TESTMODEL_NAME, pretrained=str(out))
    metrics = evaluate_testmodel(ModelEmbedder(loaded.eval(), tokenizer, preprocess))
    print(f"held-out (fp16 checkpoint via open_clip): {metrics}", flush=True)
    return metrics


#: Stage 2: a short fine-tune that adds the frame-robustness (image-image) loss to the text losses.
FINETUNE = {"steps": 90, "n_images": 8192, "lr": 4e-4, "warmup": 10, "aux_weight": 0.25, "eval_every": 45}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=TESTMODEL_CHECKPOINT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=Config.steps)
    parser.add_argument("--minutes", type=float, default=None,
                        help="rough budget: --steps from ~1.3 s/step on an idle 2-core machine (still step-bounded)")
    parser.add_argument("--stage", choices=["all", "base", "finetune"], default="all",
                        help="base: text-image training from scratch; finetune: stage 2 from --init; all: both")
    parser.add_argument("--init", type=Path, default=None, help="stage-2 starting checkpoint (default: stage-1 output)")
    args = parser.parse_args()
    steps = int(args.minutes * 60 / 1.3) if args.minutes else args.steps
    base_out = args.out.with_name(args.out.stem + ".base.pt")
    if args.stage in ("all", "base"):
        train(Config(steps=steps, seed=args.seed, ssl_weight=0.0), base_out if args.stage == "all" else args.out)
    if args.stage in ("all", "finetune"):
        init = args.init or base_out
        train(Config(seed=args.seed, init=str(init), **FINETUNE), args.out)
        if args.stage == "all":
            base_out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
