"""The `modelcat` command. Thin: parse, call the library, print; library errors become one line."""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from pathlib import Path

import click

from .version import __version__
from .errors import ModelcatError
from .textsafe import visible
from .paths import default_db_path

log = logging.getLogger("modelcat")


def _handle_errors(fn):
    """ModelcatError -> `Error: <message>` and exit 1, no traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ModelcatError as e:
            raise click.ClickException(visible(str(e))) from None

    return wrapper


def db_option(fn):
    return click.option(
        "--db", "db", type=click.Path(dir_okay=False), default=None,
        help="Catalog file [default: $MODELCAT_DB, else ./catalog.db].",
    )(fn)


def _db(db: str | None) -> Path:
    return Path(db) if db else default_db_path()


@click.group()
@click.version_option(__version__, prog_name="modelcat")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("--log-file", type=click.Path(dir_okay=False), envvar="MODELCAT_LOG_FILE",
              help="Also log to this file (INFO and up, -vv: DEBUG), rotated at 10 MB, 5 old files kept "
                   "[env: MODELCAT_LOG_FILE].")
def cli(verbose: int, log_file: str | None) -> None:
    """modelcat: a catalog of pretrained models in SQLite, explored with Datasette."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)
    if log_file:
        _log_to_file(log_file, logging.DEBUG if verbose >= 2 else logging.INFO)


def _log_to_file(path: str, level: int) -> None:
    from logging.handlers import RotatingFileHandler

    try:
        handler = RotatingFileHandler(path, maxBytes=10_000_000, backupCount=5, encoding="utf-8")
    except OSError as e:
        raise click.ClickException(f"cannot write the log file {path} ({e.strerror or e}): "
                                   "pass --log-file with a writable path") from None
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in root.handlers:  # the terminal keeps the level -v asked for
        if h is not handler and not isinstance(h, logging.FileHandler):
            h.setLevel(root.level)
    root.addHandler(handler)
    root.setLevel(min(root.level, level))


# ---------------------------------------------------------------------- refresh
class _Progress:
    """Progress on stderr: one line rewritten in place on a terminal, a line per 10% otherwise."""

    def __init__(self, source: str):
        self.source = source
        self.tty = sys.stderr.isatty()
        self.last_step = -1
        self.last_time = 0.0

    def __call__(self, done: int, total: int | None, what: str) -> None:
        now = time.monotonic()
        if total:
            step = done * 10 // total
            text = f"{self.source}: {what} {done}/{total}"
        else:
            step = done // 1000
            text = f"{self.source}: {what} {done}"
        if self.tty:
            if now - self.last_time > 0.1 or done == total:
                click.echo(f"\r{visible(text)}\033[K", err=True, nl=False)
                self.last_time = now
                if done == total:
                    click.echo("\r\033[K", err=True, nl=False)
        elif step != self.last_step:
            self.last_step = step
            click.echo(text, err=True)


def _summary(results) -> str:
    header = ("source", "status", "seen", "new", "updated", "unchanged", "removed", "skipped", "seconds")
    rows = [
        (r.source, r.status, r.counts.seen, r.counts.new, r.counts.updated, r.counts.unchanged,
         r.counts.removed, r.counts.skipped, f"{r.seconds:.1f}")
        for r in results
    ]
    return _table(header, rows)


def _say(text: str, multiline: bool = False, **kw) -> None:
    """A line that holds catalog text: its control characters shown as escapes (\x1b, \u202e)."""
    click.echo("\n".join(visible(line) for line in text.split("\n")) if multiline else visible(text), **kw)


def _json(value) -> str:
    """JSON for scripts: every control and non-ASCII character escaped (DEL too, which JSON allows raw)."""
    return json.dumps(value, indent=2, default=str, ensure_ascii=True).replace("\x7f", "\\u007f")


def _table(header, rows) -> str:
    # text from the catalog never reaches the terminal as control: escapes shown as \x1b, \u202e
    cells = [tuple(header)] + [tuple("" if c is None else visible(c) for c in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class SourceName(click.ParamType):
    """A registered source name, checked when parsed (plugins may register sources late)."""

    name = "source"

    def get_metavar(self, param, ctx=None):
        from .sources import source_names

        return "[" + "|".join(source_names()) + "]"

    def convert(self, value, param, ctx):
        from .sources import source_names

        names = source_names()
        if value not in names:
            self.fail(f"{value!r} is not one of {', '.join(map(repr, names))}.", param, ctx)
        return value


@cli.command()
@db_option
@click.option("--source", "sources", multiple=True, type=SourceName(),
              help="Refresh only this source (repeatable) [default: every source].")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Settings file [default: $MODELCAT_CONFIG, else ./modelcat.toml if present].")
@click.option("--full", is_flag=True, help="Sources that refresh incrementally (hf, ngc) do a full sweep.")
@click.option("--hf-author", multiple=True, help="Hub: only models of this owner (repeatable).")
@click.option("--hf-library", multiple=True, help="Hub: only models with this library tag (repeatable).")
@click.option("--hf-pipeline-tag", multiple=True, help="Hub: only models with this pipeline tag (repeatable).")
@click.option("--hf-min-downloads", type=click.IntRange(min=0), help="Hub: skip models with fewer downloads.")
@click.option("--no-space-check", is_flag=True,
              help="Start a big import (the whole Hub) even when the disk looks too small for it.")
@click.option("--publish", is_flag=True,
              help="After each source that changed the catalog, publish a copy for `modelcat serve --published`.")
@_handle_errors
def refresh(db, sources, config_file, full, hf_author, hf_library, hf_pipeline_tag, hf_min_downloads,
            no_space_check, publish) -> None:
    """Fetch every source and write the catalog.

    Each source is written in its own transaction (long ones commit as they go, with their
    cursor, and resume after a crash): one that fails keeps its previous rows, is reported, and
    the others go on. Exits 1 when a source failed. Command-line Hub filters replace the same
    settings of the config file's [hf] section.
    """
    from .config import load_config, with_overrides
    from .refresh import refresh as run_refresh
    from .store import Catalog

    config = with_overrides(load_config(config_file), "hf", {
        "authors": list(hf_author) or None, "libraries": list(hf_library) or None,
        "pipeline_tags": list(hf_pipeline_tag) or None, "min_downloads": hf_min_downloads, "full": full or None})
    config = with_overrides(config, "ngc", {"full": full or None})
    path = _db(db)
    try:
        results = run_refresh(path, sources or None, progress=_Progress, config=config,
                              space_check=not no_space_check, publish=publish)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: the source being written was rolled back; sources already "
                   "written are kept", err=True)
        sys.exit(130)
    click.echo(_summary(results))
    for r in results:
        if r.error:
            click.echo(visible(f"{r.source}: {r.status}: {r.error}"), err=True)
        log.log(logging.WARNING if r.status == "failed" else logging.INFO,
                "refresh %s: %s, %d seen, %d new, %d updated, %d removed, %d skipped, %.1f s%s", r.source, r.status,
                r.counts.seen, r.counts.new, r.counts.updated, r.counts.removed, r.counts.skipped, r.seconds or 0,
                f": {r.error}" if r.error else "")
    with Catalog.open(path, readonly=True, create=False) as cat:
        c = cat.counts()
    click.echo(
        f"catalog {path}: {c['models'] - c['models_removed']} models "
        f"({c['models_removed']} removed), {c['model_datasets']} dataset links, "
        f"{c['metrics']} metrics, {c['papers']} papers, {c['repos']} repositories"
    )
    if any(r.status == "failed" for r in results):
        sys.exit(1)


# ---------------------------------------------------------------------- search / show
@cli.command()
@click.argument("text", required=False)
@db_option
@click.option("--task", help="Hugging Face pipeline tag, e.g. image-classification.")
@click.option("--dataset", help="Training dataset, e.g. imagenet-1k (aliases such as in1k work).")
@click.option("--open", "open_only", is_flag=True, help="Only permissive or copyleft licenses.")
@click.option("--max-mb", type=float, help="Only models smaller than this many MB (10^6 bytes).")
@click.option("--source", help="Only rows from this source (timm, torchvision, ...).")
@click.option("--library", help="Only this library (timm, torchvision, ...).")
@click.option("--license-family", help="permissive, copyleft, restricted, non-commercial or unknown.")
@click.option("--license", "license_", help="An exact license id, e.g. apache-2.0.")
@click.option("--loadable", is_flag=True, help="Only rows `modelcat load` can build as a torch model.")
@click.option("--sort", type=click.Choice(["size", "params", "top1", "name", "speed"]), default="size",
              show_default=True, help="Order of the results (speed: images/s on --device, fastest first).")
@click.option("--device", help="Inference speed on this device, as timm measured it: RTX 4090, RTX 3090, ... "
                               "(`modelcat devices`); adds an img/s column.")
@click.option("--min-speed", type=float, help="Only models that run at least this many images/s on --device.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "ids"]), default="table",
              show_default=True, help="Output format.")
@click.option("--every-source", is_flag=True,
              help="A row per source: timm:x and hf:timm/x separately (default: one row per model).")
@click.option("--include-test", is_flag=True,
              help="Also test models (timm's test_* architectures, tiny-random-* and test-fixture repositories), "
                   "left out by default.")
@_handle_errors
def search(text, db, task, dataset, open_only, max_mb, source, library, license_family, license_, loadable,
           sort, device, min_speed, limit, fmt, every_source, include_test) -> None:
    """Find models. TEXT searches names, descriptions and tags.

    A model seen in several sources (timm:x is hf:timm/x) is one row; the other ids are listed.

    \b
    modelcat search --task image-classification --dataset imagenet-1k --open --max-mb 100
    modelcat search resnet --source torchvision --format json
    """
    from .search import Query, search as run_search
    from .store import Catalog

    q = Query(text=text, task=task, dataset=dataset, open_only=open_only, max_mb=max_mb,
              source=source, library=library, license_family=license_family, license=license_,
              loadable=loadable, sort=sort, limit=limit, group=not every_source, include_test=include_test,
              device=device, min_speed=min_speed)
    with Catalog.open(_db(db), readonly=True, create=False) as cat:
        cat.require_current()
        rows = run_search(cat, q)
    if fmt == "json":
        click.echo(_json(rows))
    elif fmt == "ids":
        for r in rows:
            click.echo(visible(r["id"]))
    else:
        table_rows = [
            (r["id"], r["task"], r["license"],
             "" if r["num_params"] is None else f"{r['num_params'] / 1e6:.2f}",
             "" if r["size_bytes"] is None else ("~" if r["size_is_estimate"] else "") + f"{r['size_bytes'] / 1e6:.1f}",
             "" if r["imagenet_top1"] is None else f"{r['imagenet_top1']:.2f}",
             *(("" if r.get("samples_per_sec") is None else f"{r['samples_per_sec']:,.0f}",) if device else ()),
             ", ".join(r.get("ids", [])[1:]))
            for r in rows
        ]
        header = ("id", "task", "license", "params_M", "size_MB", "in1k_top1", *(("img/s",) if device else ()), "also")
        if not any(row[-1] for row in table_rows):
            header, table_rows = header[:-1], [row[:-1] for row in table_rows]
        if table_rows:
            click.echo(_table(header, table_rows))
        click.echo(f"{len(rows)} model{'s' if len(rows) != 1 else ''}"
                   + (" (~ = estimated from the parameter count)" if any(r["size_is_estimate"] for r in rows) else ""),
                   err=fmt == "table" and not table_rows)


@cli.command()
@db_option
@click.option("--task", required=True, help="Hugging Face pipeline tag, e.g. image-classification.")
@click.option("--samples", type=int, required=True, help="How many labelled training samples you have.")
@click.option("--domain", type=click.Choice(["similar", "different"]), default="similar", show_default=True,
              help="How close your data is to the pretraining data (ImageNet photos: similar; X-rays: different).")
@click.option("--num-classes", type=click.IntRange(min=1), help="Your number of classes (the new head's outputs).")
@click.option("--gpu-memory", type=float, help="GB of GPU memory to fit training in (AMP, AdamW).")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--max-mb", type=float, help="Only models smaller than this many MB (10^6 bytes).")
@click.option("--open", "open_only", is_flag=True, help="Only permissive or copyleft licenses.")
@click.option("--license-family", help="permissive, copyleft, restricted, non-commercial or unknown.")
@click.option("--dataset", help="Only models trained on this dataset (e.g. imagenet-1k).")
@click.option("--limit", type=click.IntRange(min=1), default=5, show_default=True, help="Candidates shown.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--data", type=click.Path(file_okay=True, dir_okay=True, path_type=Path),
              help="Your images, one sub-folder per class: the candidates are scored on them (LogME) and re-ranked.")
@click.option("--data-images", type=click.IntRange(min=2), default=500, show_default=True,
              help="With --data: how many of your images to score on, spread over the classes.")
@_handle_errors
def recommend(db, task, samples, domain, num_classes, gpu_memory, batch_size, max_mb, open_only, license_family,
              dataset, limit, fmt, data, data_images) -> None:
    """Which model, which fine-tuning strategy and how much GPU memory, for your data.

    \b
    modelcat recommend --task image-classification --samples 500 --num-classes 7 --open --max-mb 100
    modelcat recommend --task image-classification --samples 50000 --gpu-memory 16 --format json
    modelcat recommend --task image-classification --samples 800 --num-classes 4 --data ./my-images
    """
    from .recommend import recommend as run

    if open_only and license_family:
        raise click.UsageError("--open and --license-family both filter licenses: give one")
    bar = []

    def progress(done, total):  # a bar on stderr where it is a terminal
        if not bar:
            from tqdm import tqdm

            bar.append(tqdm(total=total, unit="img", desc="features of your images", file=sys.stderr,
                            disable=None, leave=False))
        bar[0].update(done)

    try:
        out = run(task, samples, domain=domain, num_classes=num_classes, gpu_memory=gpu_memory, batch_size=batch_size,
                  max_mb=max_mb, open_only=open_only, license_family=license_family, dataset=dataset, limit=limit,
                  db=_db(db), data=data, data_images=data_images, progress=progress if data is not None else None)
    finally:
        if bar:
            bar[0].close()
    if fmt == "json":
        click.echo(_json(out))
        return
    st = out["strategy"]
    click.echo(f"strategy: {st['strategy']}" + (f" (the top {st['trainable_stages']} stage"
                                                f"{'s' if st['trainable_stages'] > 1 else ''})"
                                                if st["strategy"] == "partial" else "")
               + (", with gradual unfreezing" if st["gradual_unfreezing"] else ""))
    click.echo(f"  {st['why']}" + (" (--domain similar by default)" if st["domain_defaulted"] else ""))
    rows = [(c["id"], f"{c['score']:.3f}", f"{c['size_mb']:.1f}",
             "" if c["imagenet_top1"] is None else f"{c['imagenet_top1']:.2f}",
             f"{c['trainable_params'] / 1e6:.2f}", f"{c['memory_gb']:.1f}" + ("" if c["memory"]["activations_gb"]
                                                                            is not None else "+"),
             {True: "yes", False: "no", None: ""}[c["fits"]], "*" if c["pareto"] else "")
            + ((("" if c["transfer_score"] is None else f"{c['transfer_score']:.3f}"),) if "data" in out else ())
            for c in out["candidates"]]
    if rows:
        click.echo(_table(("id", "score", "size_MB", "in1k_top1", "trainable_M", "memory_GB", "fits", "front")
                          + (("LogME",) if "data" in out else ()), rows))
        if "data" in out:
            click.echo(f"ranked by LogME on {out['data']['images']} of your images "
                       f"({len(out['data']['classes'])} classes); higher transfers better")
        click.echo(f"memory: AMP, AdamW, batch {batch_size}; + = activations not measured; front: * = no other "
                   "candidate is as accurate, as small and as light. Load the first with:")
        click.echo(f"  {visible(out['candidates'][0]['load'])}")
    else:
        click.echo("no candidate passes the filters" + (" and the memory budget" if gpu_memory else ""), err=True)
    for d in out["dropped"]:
        click.echo(f"left out: {visible(d['id'])}: {visible(d['why'])}", err=True)
    for c in out["candidates"]:
        if c.get("transfer_error"):
            click.echo(f"not scored on your images: {visible(c['id'])}: {visible(c['transfer_error'])}", err=True)


@cli.command()
@click.argument("model_id")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the row as JSON.")
@_handle_errors
def show(model_id, db, as_json) -> None:
    """Show one row by its catalog id: a model (timm:resnet18.a1_in1k, hf:..., torchhub:...),
    a paper (arxiv:2010.11929) or a code repository (github:pytorch/vision), with its links."""
    from .store import Catalog

    with Catalog.open(_db(db), readonly=True, create=False) as cat:
        _, row = cat.require(model_id)
    if as_json:
        click.echo(_json(row))
        return
    linked = ("datasets", "metrics", "papers", "repos", "code", "models", "relations", "speeds", "paper_results",
              "results")
    for key, value in row.items():
        if key in linked or key == "record_hash" or value in (None, [], {}):
            continue
        _say(f"{key:17} {value if not isinstance(value, (list, dict)) else json.dumps(value)}")
    for d in row.get("datasets", []):
        _say(f"{'dataset':17} {d['dataset_id']} ({d['role']}, from {d['raw']!r})")
    for m in row.get("metrics", []):
        # a result at another image size than the one that ranks says so (top1@288px)
        named = m["metric"] if (m.get("metric") or "").endswith("px") else m["metric_raw"]
        origin = f": {m['origin']}" if m.get("origin") else ""
        _say(f"{'metric':17} {m['dataset_raw']} {named} = {m['value']}  [{m['source']}{origin}]")
    for x in row.get("speeds", []):
        if x["kind"] == "ops":
            _say(f"{'cost':17} {x['gflops']:g} GFLOPs per image at {x['img_size']} px  [{x['source']}]")
            continue
        setup = ", ".join(str(v) for v in (x["precision"], x["layout"], x["torch"] and f"torch {x['torch']}",
                                            x["compiled"] and "compiled", x["batch_size"] and f"batch {x['batch_size']}")
                          if v)
        cost = f", {x['gmacs']:g} GMACs" if x.get("gmacs") else ""
        _say(f"{'speed (' + x['kind'] + ')':17} {x['samples_per_sec']:,.0f} img/s on {x['device']} at "
                   f"{x['img_size']} px ({setup}){cost}  [{x['source']}]")
    for m in row.get("models", []):
        _say(f"{'model':17} {m['id']}" + (f" ({m['task']})" if m["task"] else ""))
    for p in row.get("papers", []):
        _say(f"{'paper':17} {p['id']} {p['title'] or ''}".rstrip())
    for r in row.get("repos", []) + row.get("code", []):
        stars = f" ({r['stars']} stars)" if r["stars"] is not None else ""
        said = ", ".join(x for x in ("official" if r.get("official") else None, r.get("framework")) if x)
        _say(f"{'code':17} {r['url'] or r['id']}{stars}" + (f" [{said}]" if said else ""))
    for x in row.get("relations", []):
        _say(f"{'lineage':17} {x['relation']} of {x['related_id']}")
    own = [r for r in row.get("paper_results", []) if r["same_name"]]
    for r in own + row.get("results", []):
        # a leaderboard's result is the paper's (its weights, its protocol), shown as such
        value = r["value_raw"] if r["value_raw"] is not None else r["value"]
        where = f" in {r['paper_id']}" if r.get("paper_id") else ""
        extra = ", extra training data" if r["extra_data"] else ""
        _say(f"{'paper result':17} {r['dataset_raw']} {r['metric_raw']} = {value} for {r['model_name']!r}{where}"
             f"  [{r['source']}: {r['task']}{extra}]")
    others = len(row.get("paper_results", [])) - len(own)
    if others:
        _say(f"{'paper results':17} {others} more for other models of its papers (show --json lists them)")


# ---------------------------------------------------------------------- load
@cli.command()
@click.argument("model_id")
@db_option
@click.option("--num-classes", type=click.IntRange(min=1), help="A new classification head with this many classes "
              "[default: keep the pretrained head].")
@click.option("--strategy", type=click.Choice(["feature-extraction", "partial", "full"]), default="partial",
              show_default=True, help="What trains: the head only, the last stage(s) and the head, or everything.")
@click.option("--trainable-stages", type=click.IntRange(min=1), default=1, show_default=True,
              help="With --strategy partial: how many of the last backbone stages train.")
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when available), cpu, cuda, cuda:N.")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default="float32",
              show_default=True, help="Parameter dtype.")
@click.option("--head-lr", type=float, default=1e-3, show_default=True, help="Learning rate of the head.")
@click.option("--backbone-lr", type=float, default=1e-5, show_default=True,
              help="Learning rate of the trainable backbone stages.")
@click.option("--trust-repo", is_flag=True, help="torch.hub rows: run the repository's hubconf.py.")
@click.option("--trust-remote-code", is_flag=True, help="transformers rows: run the repository's modeling code.")
@click.option("--revision", help="Hub branch, tag or commit [default: main].")
@click.option("--json", "as_json", is_flag=True, help="Print what was built as JSON.")
@_handle_errors
def load(model_id, db, num_classes, strategy, trainable_stages, device, dtype, head_lr, backbone_lr, trust_repo,
         trust_remote_code, revision, as_json) -> None:
    """Build a catalog row as a torch model ready to fine-tune, and print what was built.

    \b
    modelcat load timm:resnet18.a1_in1k --num-classes 10 --strategy partial
    modelcat load torchhub:pytorch/vision:resnet18 --num-classes 10 --trust-repo
    """
    import os

    # transformers reports every re-initialized head weight; the summary below says it in one line
    if logging.getLogger("modelcat").getEffectiveLevel() > logging.INFO:
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from .loader import load_model

    try:
        ft = load_model(model_id, num_classes=num_classes, strategy=strategy, device=device, dtype=dtype,
                        trainable_stages=trainable_stages, head_lr=head_lr, backbone_lr=backbone_lr,
                        trust_repo=trust_repo, trust_remote_code=trust_remote_code, revision=revision, db=_db(db))
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    groups = [{"name": g["name"], "lr": g["lr"], "params": sum(p.numel() for p in g["params"])}
              for g in ft.param_groups()]
    info = {
        "id": ft.catalog_id, "backend": ft.backend, "device": str(ft.device), "dtype": str(ft.dtype)[6:],
        "strategy": ft.strategy, "num_classes": ft.num_classes, "head": ft.head,
        "trainable_params": ft.trainable_params, "total_params": ft.total_params,
        "stages": [s.name for s in ft.stages], "trainable_stages": ft.trainable_stages,
        "frozen_batchnorm": len(ft.frozen_batchnorm), "param_groups": groups, "preprocess": ft.preprocess,
        "license": ft.row.get("license"), "task": ft.row.get("task"), "load_seconds": round(ft.load_seconds, 3),
    }
    if as_json:
        click.echo(_json(info))
        return
    _say(ft.summary(), multiline=True)
    _say(f"{'trainable':17} {ft.trainable_params:,} / {ft.total_params:,} parameters")
    _say(f"{'device':17} {ft.device} ({info['dtype']})")
    _say(f"{'stages':17} {len(ft.stages)}; training {', '.join(ft.trainable_stages) or 'none'} + head")
    if ft.frozen_batchnorm:
        _say(f"{'batchnorm':17} {len(ft.frozen_batchnorm)} frozen layers keep their pretrained statistics")
    for g in groups:
        _say(f"{'param group':17} {g['name']}: {g['params']:,} parameters at lr {g['lr']:g}")
    for key, value in ft.preprocess.items():
        _say(f"{'preprocess':17} {key} = {value}")
    _say(f"{'license':17} {ft.row.get('license')} ({ft.row.get('license_family')})")
    _say(f"{'loaded in':17} {ft.load_seconds:.2f} s")


# ---------------------------------------------------------------------- serve
@cli.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=8001, show_default=True,
              help="Port to listen on.")
@click.option("--published", is_flag=True,
              help="Serve the catalog's published copy (`modelcat publish`), moving to each new one: "
                   "refreshes write the catalog beside it without touching what is served.")
@_handle_errors
def serve(db, host, port, published) -> None:
    """Serve the catalog in Datasette (facets, stored queries, full-text search)."""
    from .publish import published_path
    from .serve import serve as run_serve

    path = _db(db)
    shown = f"{published_path(path)} (the published copy of {path})" if published else path
    run_serve(path, host=host, port=port, published=published,
              on_ready=lambda: click.echo(f"Datasette on http://{host}:{port}/ serving {shown} (Ctrl-C stops)",
                                          err=True))


@cli.command()
@db_option
@click.option("--to", "to", type=click.Path(dir_okay=False),
              help="Where the copy goes [default: published/<the catalog's name> beside the catalog].")
@_handle_errors
def publish(db, to) -> None:
    """Publish a copy of the catalog for `modelcat serve --published`: one consistent snapshot,
    renamed over the previous copy (a server moves to it within seconds). A refresh may run
    meanwhile; it costs the catalog's size in disk."""
    from .publish import publish as publish_copy

    done = publish_copy(_db(db), to)
    click.echo(f"published {done.path} ({done.bytes / 1e6:,.1f} MB in {done.seconds:.1f} s)")


# ---------------------------------------------------------------------- check
@cli.command()
@db_option
@click.option("--quick", is_flag=True, help="SQLite's quick_check instead of integrity_check (faster on a large catalog).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--repair", is_flag=True, help="First rebuild the counts the pages read (facets, entities, the home "
              "page's per-source counts) from the models; takes the refresh lock. Then check.")
@_handle_errors
def check(db, quick, as_json, repair) -> None:
    """Check the catalog: SQLite's integrity and foreign keys, the full-text indexes, and the
    catalog's own invariants. Read-only unless --repair. Exits 1 when anything is wrong."""
    from .store import Catalog

    if repair:
        from .refresh import refresh_lock

        with refresh_lock(_db(db)), Catalog.open(_db(db), create=False) as cat:
            cat.require_current()
            done = cat.repair_counts()
        click.echo(f"rebuilt: {', '.join(done)}", err=True)
    with Catalog.open(_db(db), readonly=True, create=False) as cat:
        results = cat.check(quick=quick)
    if as_json:
        click.echo(_json([{**vars(r), "ok": r.ok} for r in results]))
    else:
        rows = [(r.name, "ok" if r.ok else f"{r.problems} problem{'s' if r.problems != 1 else ''}",
                 "" if r.ok else "; ".join(r.examples)) for r in results]
        click.echo(_table(("check", "result", "examples"), rows))
        bad = [r for r in results if not r.ok]
        click.echo(f"{len(results) - len(bad)} of {len(results)} checks passed", err=bool(bad))
    if any(not r.ok for r in results):
        sys.exit(1)


# ---------------------------------------------------------------------- hashes
@cli.command()
@db_option
@click.option("--task", default="image-classification", show_default=True,
              help="Hugging Face pipeline tag of the Hub rows measured.")
@click.option("--all-tasks", is_flag=True, help="Every Hub row, whatever its task.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Config file whose [hf] budgets to count nights with [default: $MODELCAT_CONFIG, else ./modelcat.toml].")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@_handle_errors
def hashes(db, task, all_tasks, config_file, as_json) -> None:
    """How far weight-hash evidence reaches: of the Hub's rows of a task, the share the hub
    source's hash-candidate rules would ask for their files' sha256, how many were read, how many
    joined another entity by the same bytes, and the nights the rest takes at the [hf] budgets.
    Reads the catalog only. On a catalog crawled from huggingface.co: the share of the Hub's
    classifiers the rules cover."""
    from .config import load_config
    from .hashshare import hash_share
    from .store import Catalog

    settings = load_config(config_file).get("hf", {})
    with Catalog.open(_db(db), readonly=True, create=False) as cat:
        r = hash_share(cat, None if all_tasks else task, settings)
    if as_json:
        click.echo(_json(r.as_dict()))
        return

    def pct(k: int) -> str:
        return f"{k:,} ({100 * k / r.rows:.1f}%)" if r.rows else f"{k:,}"

    def nights(owed: int, budget: int, left: int | None) -> str:
        return "none owed" if not owed else (f"{left} at {budget:,} a night" if left is not None
                                              else "never: the budget is 0")
    rows = [("Hub rows" + ("" if all_tasks else f" of {task}"), f"{r.rows:,}"),
            ("with a parameter count", pct(r.with_params)),
            ("candidates by size (hash_requests)", pct(r.size_candidates)),
            ("  left out: size shared by too many entities", pct(r.too_common)),
            ("candidates by name (named_hash_requests)", pct(r.named_candidates)),
            ("candidates, either rule", pct(r.candidates)),
            ("  files read", f"{r.read:,}"),
            ("  owed", f"{r.owed:,}"),
            ("  nights, by size", nights(r.owed_by_size, r.hash_requests, r.nights)),
            ("  nights, by name", nights(r.owed_by_name, r.named_hash_requests, r.named_nights)),
            ("rows with files read, any", pct(r.hashed_rows)),
            ("rows joined by the same weights hash", pct(r.joined))]
    click.echo(_table(("hash evidence", "rows"), rows))
    if not r.rows:
        click.echo("no live Hub rows" + ("" if all_tasks else f" of {task}") + " in this catalog: "
                   "`modelcat refresh --source hf` (online, or with HF_ENDPOINT set) reads them", err=True)


# ---------------------------------------------------------------------- reference lists
@cli.command()
@db_option
@_handle_errors
def sources(db) -> None:
    """List the sources and their latest refresh."""
    from .sources import BUILTIN, source_names
    from .store import Catalog

    latest = {}
    path = _db(db)
    if path.exists():
        with Catalog.open(path, readonly=True, create=False) as cat:
            latest = cat.latest_runs()
    rows = []
    for name in source_names():
        r = latest.get(name)
        rows.append((name, "built-in" if name in BUILTIN else "registered",
                     r["status"] if r else "never run", r["finished_at"] if r else "",
                     r["error"] or "" if r else ""))
    click.echo(_table(("source", "kind", "last status", "finished", "error"), rows))


@cli.command()
def tasks() -> None:
    """List the task names (Hugging Face pipeline tags)."""
    from .normalize.tables import load_table

    for ident, entry in load_table("tasks")["tasks"].items():
        click.echo(f"{ident:32} {(entry or {}).get('modality', '')}")


@cli.command()
def devices() -> None:
    """List the devices timm measured inference speed on (`search --device`), with their aliases."""
    from .normalize.device import device_table

    for ident, d in device_table().items():
        aliases = ", ".join(str(a) for a in d.get("aliases") or [])
        click.echo(f"{d.get('name', ident):24} {d.get('kind', '')}" + (f"  [{aliases}]" if aliases else ""))


@cli.command()
def datasets() -> None:
    """List the canonical dataset names and the aliases that map to them."""
    from .normalize.dataset import dataset_table

    for ident, entry in dataset_table().items():
        aliases = ", ".join(str(a) for a in entry.get("aliases") or [])
        click.echo(f"{ident:22} {entry.get('name', '')}" + (f"  [{aliases}]" if aliases else ""))


def main() -> None:  # python -m indexer
    cli(prog_name="modelcat")
