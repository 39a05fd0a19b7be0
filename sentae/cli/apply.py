"""`sentae score`, `sentae denoise` and `sentae encode`: anomaly scores, denoised images and features of a run's
model for the images or sentences of a file (thin over ``sentae.applications``)."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import SentaeError
from .common import check_folder, check_output, friendly, read_lines, write_chunks, write_lines
from .formats import format_option, render

INPUTS_HELP = ("Images: a .npy array, an idx file, a PNG/JPEG file or a folder of them. Sentences: a text file, "
               "one per line (- for standard input).")


def _inputs(model_modality: str, inputs: str):
    """Sentences from standard input or a file; anything else is passed on as a path."""
    if inputs == "-":
        if model_modality != "text":
            raise SentaeError("standard input (-) holds sentences; give image inputs as a file or folder")
        return read_lines("-")
    return inputs


def _modality(run: str) -> str:
    from ..run import RunFolder

    return RunFolder(run).modality()


def _refuse_existing(output: str, force: bool) -> None:
    from ..applications.denoise import refuse_existing

    if output != "-":
        refuse_existing(Path(output), force)


def _check_image_output(output: str, force: bool) -> None:
    """Before any work: a .npy file that can be written (and does not exist, unless --force), or a folder for
    PNG files that is not a file."""
    if Path(output).suffix.lower() == ".npy":
        check_output(output)
        _refuse_existing(output, force)
        return
    if Path(output).exists() and not Path(output).is_dir():
        raise SentaeError(f"-o {output}: is a file; give a folder for PNG files or a name ending in .npy")
    check_folder(output, "-o")


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("inputs", type=click.Path(exists=True, allow_dash=True))
@click.option("--score", "scores", multiple=True, metavar="NAME",
              help="Score to give (repeatable): sse, bce, rec_nll, neg_elbo, iw_nll, disc. Default: every score the "
                   "model gives except iw_nll.")
@click.option("--iw-samples", type=click.IntRange(min=1, max=10_000), default=100, show_default=True,
              help="Importance samples K for iw_nll.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the posterior samples (neg_elbo, iw_nll).")
@click.option("--device", default="auto", show_default=True, help="auto (cuda when there is one, else cpu), cpu, cuda, cuda:1, ...")
@click.option("-o", "--output", default="-", help="File to write (default: standard output).")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@format_option
@friendly
def score(run: str, inputs: str, scores: tuple[str, ...], iw_samples: int, batch_size: int, seed: int, device: str,
          output: str, force: bool, fmt: str) -> None:
    """Anomaly score of each input under the model in RUN (higher: less like its training data).

    text: a '#' line per score saying what it is, a header, then one tab-separated row per input (its file name,
    index or sentence) in input order. json, jsonl, tsv: a record per input, `input` and one key per score."""
    from ..applications import score as score_api

    check_output(output)
    _refuse_existing(output, force)
    result = score_api(run, _inputs(_modality(run), inputs), list(scores) or None, iw_samples=iw_samples,
                       batch_size=batch_size, seed=seed, device=device)
    names = list(result["scores"])
    if fmt != "text":
        records = [{"input": name, **{k: float(result["scores"][k][i]) for k in names}}
                   for i, name in enumerate(result["inputs"])]
        write_chunks(render([records], fmt, lambda chunk: []), output)
        return
    lines = [f"# {k}: {result['units'][k]}; model {result['model']}, seed {seed}" for k in names]
    lines.append("\t".join(["input", *names]))
    columns = [result["scores"][k] for k in names]
    for i, name in enumerate(result["inputs"]):
        lines.append("\t".join([name.replace("\t", " "), *(f"{c[i]:.6g}" for c in columns)]))
    write_lines(lines, output)


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("inputs", type=click.Path(exists=True))
@click.option("-o", "--output", required=True,
              help="Where to write: a name ending in .npy (one float32 array N x C x H x W in [0, 1]) or a folder "
                   "(one PNG per image: 00000.png, ...).")
@click.option("--force", is_flag=True, help="Replace output files that exist.")
@click.option("--keep-luminance", is_flag=True,
              help="Colourization (a model trained with input_transform: grayscale): keep each input's own "
                   "luminance and take only the colour from the model.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (cuda when there is one, else cpu), cpu, cuda, cuda:1, ...")
@friendly
def denoise(run: str, inputs: str, output: str, force: bool, keep_luminance: bool, batch_size: int, device: str) -> None:
    """Denoise the images of INPUTS with the image model in RUN (its reconstruction of each); colourize gray
    images with a model trained on (grayscale -> colour) pairs."""
    from ..applications import colourize as colourize_api
    from ..applications import denoise as denoise_api
    from ..applications.denoise import write_images

    _check_image_output(output, force)
    if keep_luminance:
        clean, names = colourize_api(run, inputs, batch_size=batch_size, device=device)
    else:
        clean, names = denoise_api(run, inputs, batch_size=batch_size, device=device)
    written = write_images(clean, names, output, force=force)
    what = "colourized" if keep_luminance else "denoised"
    click.echo(f"{len(clean)} {what} images -> {output}" + (f" ({len(written)} PNG files)" if len(written) > 1 else ""))


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.argument("inputs", type=click.Path(exists=True, allow_dash=True))
@click.option("-o", "--output", required=True, help="The .npy file to write: an N x D float32 array of codes.")
@click.option("--names", "names_out", default=None,
              help="Also write the name (file or index) or sentence of each row here, one per line.")
@click.option("--force", is_flag=True, help="Replace the output files if they exist.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (cuda when there is one, else cpu), cpu, cuda, cuda:1, ...")
@friendly
def encode(run: str, inputs: str, output: str, names_out: str | None, force: bool, batch_size: int,
           device: str) -> None:
    """Write the codes of INPUTS under the model in RUN (posterior means for VAEs) as features."""
    from ..applications import encode as encode_api
    from ..applications.denoise import write_npy

    if Path(output).suffix.lower() != ".npy":
        raise SentaeError(f"-o {output}: the codes are written as a .npy array; give a name ending in .npy")
    check_output(output)
    _refuse_existing(output, force)
    if names_out is not None:
        check_output(names_out, "--names")
        _refuse_existing(names_out, force)
    codes, names = encode_api(run, _inputs(_modality(run), inputs), batch_size=batch_size, device=device)
    write_npy(Path(output), codes)
    if names_out is not None:
        write_lines(names, names_out)
    click.echo(f"{codes.shape[0]} codes of {codes.shape[1]} dimensions -> {output}")


@click.command("sample-images")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("-n", "--num", type=click.IntRange(min=1, max=100_000), default=16, show_default=True,
              help="Images to draw from the prior.")
@click.option("--between", type=click.Path(exists=True), default=None,
              help="Instead of prior samples: decode the straight path between the codes of the first two images "
                   "of this file or folder (same formats as INPUTS of score).")
@click.option("--steps", type=click.IntRange(min=2, max=10_000), default=8, show_default=True,
              help="With --between: images on the path, both ends included.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("-o", "--output", required=True,
              help="A name ending in .npy (one float32 array N x C x H x W in [0, 1]) or a folder of PNG files.")
@click.option("--force", is_flag=True, help="Replace output files that exist.")
@click.option("--device", default="auto", show_default=True, help="auto (cuda when there is one, else cpu), cpu, cuda, cuda:1, ...")
@friendly
def sample_images(run: str, num: int, between: str | None, steps: int, seed: int, output: str, force: bool,
                  device: str) -> None:
    """Generate images with the image model in RUN (conv_vae, image_aae, ...): prior samples, or an interpolation."""
    from ..applications.denoise import write_images
    from ..applications.generate import interpolate_images
    from ..applications.inputs import read_image_inputs
    from ..generation.loading import load_sampler

    _check_image_output(output, force)
    sampler = load_sampler(run, device)
    model = sampler.model
    if model.data_info.modality != "image":
        raise SentaeError(f"{run}: model '{model.name}' is a text model; `sentae sample` generates sentences")
    if between is not None:
        images, _ = read_image_inputs(between, model.data_info.image_shape)
        if len(images) < 2:
            raise SentaeError(f"--between {between}: holds {len(images)} image; interpolation needs two")
        out = interpolate_images(model, images[0], images[1], steps)
    else:
        out = sampler.sample(num, seed=seed).float().cpu()
    write_images(out.numpy(), [], output, force=force)
    click.echo(f"{len(out)} images -> {output}")
