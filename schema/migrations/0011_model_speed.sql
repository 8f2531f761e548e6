-- How fast a model runs and what it costs per image (indexer/records.py Speed): timm's benchmark
-- files (samples/s on a named device, batch, precision, image size, GMACs, activations) and
-- torchvision's GFLOPs, one table that pages and `modelcat search --device/--min-speed` filter on.
CREATE TABLE model_speed (
    model_id        TEXT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    source          TEXT NOT NULL,
    kind            TEXT NOT NULL,      -- infer | train | ops (a cost, no device)
    raw             TEXT NOT NULL,      -- where it came from: timm's file name, "torchvision _ops"
    img_size        INTEGER,
    device          TEXT,               -- schema/devices.yml's name: "RTX 4090"
    precision       TEXT,               -- amp | amp_bf16 | bf16 | fp32
    layout          TEXT,               -- nchw | nhwc
    torch           TEXT,               -- torch version measured with
    compiled        INTEGER,            -- 1: torch.compile (dynamo)
    batch_size      INTEGER,
    samples_per_sec REAL,
    step_time_ms    REAL,
    gmacs           REAL,               -- multiply-accumulates per image, billions
    gflops          REAL,               -- floating-point operations per image, billions
    macts_m         REAL,               -- activations per image, millions
    PRIMARY KEY (model_id, source, raw, kind, img_size)
);
CREATE INDEX idx_model_speed_device ON model_speed (device, kind, samples_per_sec);
CREATE INDEX idx_model_speed_source ON model_speed (source);
