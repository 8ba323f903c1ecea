"""The Keras example VAE under `caedoctor.autolog(diagnose="always", budget_seconds=400)`, then its VAE symptoms
and findings: `python bench/vae/diagnose_example.py BETA EPOCHS [sum|mean] [--quick] [keras_example_vae.py's options]`."""

import json
import runpy
import sys
from pathlib import Path

import caedoctor

quick = "--quick" in sys.argv
caedoctor.autolog(diagnose="always", quick=quick, budget_seconds=400)
sys.argv = ["keras_example_vae.py"] + [a for a in sys.argv[1:] if a != "--quick"]
runpy.run_path(str(Path(__file__).with_name("keras_example_vae.py")), run_name="__main__")
caedoctor.autolog(disable=True)
d = caedoctor.last_diagnosis()
for s in d.symptoms:
    if s["name"] in ("posterior_collapse", "collapsed_to_mean", "loss_reduction_mismatch", "log_variance_overflow",
                     "kl_weight_frozen", "nan_inf"):
        print(s["name"], s["present"], json.dumps(s["evidence"], default=str)[:300])
print("verdict", d.verdict, [(f.code, f.cause, f.status) for f in d.findings])
