"""The numbers caedoctor judges by that several modules read, and those that judge probes, with where each
was measured.

Where a number lives: the monitor's definitions, the symptom thresholds the detectors and their probe rules
share, and every number that judges probes (the verdict levels, the seed-noise margin, the replicate,
explain-away, the LR range test's agreement, the budget) live here. A number that one module alone reads lives
at the top of that module, beside what it judges and quoted in its doc: a static rule's limits in its file of
`checks/rules/<family>/` (twin rules of one family import them from each other), a new detector's own in
`monitor/detectors/<name>.py` (its probe rule names it in `thresholds`, read from the detector's module
first, then from here), a probe's length in `probing/probes.py`. Either way, the comment beside a number says
where it was measured.

Three groups here: what the monitor counts as saturated or out of range; the symptom thresholds the detectors
(`caedoctor.monitor.symptoms`) compare its traces with; and the numbers that judge probes (the verdict
levels, the seed-noise margin, the replicate, explain-away, the LR range test's agreement).

The symptom thresholds were measured, not copied from classifier tools: `bench/symptom_probes.py` runs
300-step probes of the field notes' CAEs and of injected faults on bundled:patches32 and prints each
signal; `bench/README-symptoms.md` holds the table. A threshold sits between the values of the healthy
probes and those of the faulty ones, with a margin on both sides; the comments quote the measurements.
The probe-judging numbers were measured by the fault benchmark (`bench/faults`, `bench/README.md`).
"""

# ---------------------------------------------------------------- monitor definitions

# A sigmoid output below 0.01 or above 0.99 (a tanh output beyond +-0.99) has a derivative under 4% (2%)
# of its maximum: the unit passes almost no gradient there.
SATURATION_TAIL = 0.01
# A unit counts as saturated when at least this share of its values (samples x positions) is in the tails.
SATURATED_UNIT_SHARE = 0.9
# Outputs further outside the target's range than this fraction of the range's width count as violations
# (float round-off and a sigmoid's exact 0 or 1 are not violations).
RANGE_TOLERANCE = 0.01
# A step's loss recovered from Keras' float32 running mean is dropped (NaN, listed as imprecise) when the
# rounding of that running total could move it by more than this fraction of its value.
LOSS_PRECISION = 0.01

# ---------------------------------------------------------------- windows

MIN_STEPS = 20  # fewer recorded losses than this: too short to judge a trend
START_SHARE = 0.1  # "the start" of a run: its first 10% of recorded steps
END_SHARE = 0.2  # "the end": its last 20% (of steps, or of probes)
EARLY_STEPS = 30  # "the first steps": probes before step 30 (steps 0, 10, 20 in the bench probes)

# ---------------------------------------------------------------- symptom thresholds
# "healthy" below = the probes that train well: seed_bad, seed_better, adam_lr_1e-2, tanh_output,
# sigmoid_stack, ssim_linear, overfit_48, sgd_lr_0.1_bad/sgd_lr_0.3_bad/sgd_lr_1 (where the symptom is not
# oscillation). Values quoted are from bench/README-symptoms.md.

# diverging: end / best loss. Healthy probes end at most 1.26x above their best rolling median
# (dense_overfit_48); 2x leaves a margin for noise. The rise must also be a visible fraction of the
# predict-the-mean level: dense_overfit_16 bounces 6x at a loss of 1e-6 (1e-4 of that level).
DIVERGE_RISE = 2.0
DIVERGE_MIN_RISE = 0.05

# stuck: relative loss at the end >= 0.7 and the second half improved it by < 10%. Healthy probes end
# at 0.02-0.26 and improve 19-74% in their second half; the stuck faults end at 0.94-10 (sgd_lr_1e-6 1.23,
# sgd_lr_1e-2 1.10, seed_hyper_bad 2.99, sigmoid_stack_8 0.94, adam_lr_0.1_bad 10) and improve by at most
# 4.4%.
STUCK_RELATIVE_LOW = 0.7
STUCK_MAX_DROP = 0.1

# slow: with a reference run, less than 30% of its progress (log start/end loss): SGD 1e-2 makes 2% of
# seed_better's, the 8-layer sigmoid stack none; the 6-layer one, which does learn, 50%. Without one, a
# relative loss above 0.5 at the end while still falling: healthy runs end at <= 0.26, the slow faults
# (dead_bias, tanh_0_255, relu_stack_8_big_init) at 1.09-1.34.
SLOW_FRACTION = 0.3
SLOW_RELATIVE_END = 0.5

# oscillating: monitor-batch loss moves (second half of the probes). Healthy runs move it by at most
# 0.6% of the mean level per probe (median; the slow sigmoid_stack 1.3%, but 92% of that downwards) and
# 5.5% of its own level; SGD at 0.1-1 and RMSprop 1e-2 move it 2.3-11% of the mean level and 16-31% of its
# own level, with rises making 42-47% of the movement. A stuck model's noise (sigmoid_stack_8: 1.2% of
# the mean level, 1.2% of its own) and a memorising one's (dense_overfit_16: 94% of its own level, 0.02%
# of the mean) fail one of the size tests each.
OSCILLATION_MIN_PROBES = 6
OSCILLATION_UP_SHARE = 0.3
OSCILLATION_MOVE_BASELINE = 0.01
OSCILLATION_MOVE_LOG = 0.1

# collapsed to the mean: output spread / target spread. Healthy probes 0.84-0.99; collapsed faults
# 0-0.11 (tanh_0_255 0.11, SGD 1e-6 0.014, seed_hyper_bad 0); weights 3x too large, recovering, 0.64.
COLLAPSE_SPREAD = 0.3

# A VAE's latent unit is active when the mean of its code varies across inputs: Cov_x(E[z_j | x]) above
# 0.01, the criterion of Burda, Grosse and Salakhutdinov ("Importance Weighted Autoencoders", 2016, sec. 5.2),
# who found the variances bimodal around it (a literature value, not tuned here). No active unit at the last
# probes is posterior collapse: the decoder gets nothing about its input and returns the mean image. (At beta = 20
# below, one of two units stayed active while the code carried 1.2 bits: the KL level says more.)
ACTIVE_UNIT_VARIANCE = 0.01
# The KL term per sample bounds the information the code carries about its input (E_x KL(q(z|x) || p(z)) >=
# I(x; z) under the encoder's distribution), so it reads in bits whatever the number of latent dimensions. Under
# two bits the decoder can tell at most about four kinds of image apart: collapse, full or nearly so. Chosen, not
# tuned on a split, between the two runs it was looked at on: the Keras example VAE itself (2-d code, 6,000
# Fashion-MNIST images, Adam 1e-3, batch 128), whose code carried 8.8 bits after 235 steps at beta = 1 and
# plateaued at 1.2 bits (one unit active, the other at variance 1e-4) over 705 steps at beta = 20. The generated
# VAE benchmark of issue 29 is to test it on cases it was not chosen on.
COLLAPSE_KL_BITS = 2.0

# dead units: worst ReLU layer's dead fraction. Healthy conv CAEs 0-0.38 (seed_bad 0.16, ssim_linear
# 0.38), a dense layer memorising 48 samples 0.47 (its only fault is the memorising); RMSprop 1e-2 kills
# 64% of seed_bad's units, the -3 bias and the NaN runs 100%.
DEAD_LAYER_FRACTION = 0.5

# saturation: worst sigmoid/tanh layer's saturated fraction. Healthy: 0 in every probe (hidden sigmoids
# of the stacks included); tanh on 0-255 data 1.0, seed_hyper_bad's sigmoid output 1.0 (targets: 0).
SATURATED_LAYER_FRACTION = 0.5

# vanishing: first/last layer gradient-norm ratio. Healthy 0.68-8.3, and 0.24 for an untrained
# seed_better (SGD 1e-2); the 6-layer sigmoid stack, 0.076, still learns at half the healthy rate; the
# 8-layer one, 5e-6 (Adam) and 1.2e-5 (SGD), does not. Or nothing flows at all: largest |g|/|W| at the
# end below 1e-6 (healthy >= 5.6e-4; saturated-output collapses exactly 0) while the relative loss is
# still above 0.5.
VANISHING_RATIO = 1e-2
VANISHING_ABS = 1e-6
VANISHING_MIN_RELATIVE = 0.5

# exploding: largest |g|/|W| at any probe. Healthy [0, 1] data at most 0.84 (ssim_linear); 0-255 data
# 736-8.7e3; weights 3x too large 3.2e3; RMSprop 1e-2 900; lr 10 1e4-1e24. First/last ratio: healthy at most 8.3; no
# probe produced a large one, 100 keeps a 12x margin. Targets spanning more than 10 are not normalised,
# so the cause named is the data.
EXPLODING_RATIO = 100.0
EXPLODING_ABS = 100.0
NORMALIZED_RANGE_MAX = 10.0

# overfitting: validation rising >20% above its best while training falls (healthy validation noise
# reached +8%; no probe overfitted that way in 600 steps), or validation/training loss above 1.5 at the
# end (healthy 0.5-1.21 in bench/README-symptoms.md, 0.84-1.09 for four fault-benchmark set-ups with
# 540-22,311 training images; dense CAEs memorising 48 and 16 samples: 40 and 3e4; the fault benchmark's
# 6.4M-parameter dense CAE on 270 Fashion-MNIST images 2.73, the field notes' CAE on 108 images 1.57,
# both measured at 500 probe steps, where the ground truth finds more data helps).
OVERFIT_MIN_EPOCHS = 3
OVERFIT_VAL_RISE = 0.2
OVERFIT_GAP = 1.5

# over-regularization (CAE712): the largest share of the penalties in the training loss over the baseline
# probe, and the loss with dropout on over the loss with it off at the end (bench/over_regularization_symptom.py
# on the development bases of bench/over_regularization.py, each setting labelled "hurts" by plain-Keras
# training at the ground truth's budget; numbers in bench/README.md, "Over-regularization").
PENALTY_SHARE_MAX = 0.2
DROPOUT_GAP_MAX = 1.3

# out of range: share of outputs outside the targets' range. Healthy (linear outputs included) at most
# 0.7%; weights 3x too large 4.8%, a collapsed linear output (Adam 0.1) 100%.
RANGE_VIOLATION_FRACTION = 0.02

# update ratio |dW|/|W| (Karpathy's rule of thumb: about 1e-3 is healthy). Early (steps 0-29):
# healthy at most 0.06 and Adam 1e-2, which trains, 0.18; RMSprop 1e-2 (kills 64% of seed_bad's ReLUs)
# 0.31; Adam 3e-2 and 0.1 (which collapse) 0.54-1.9,
# lr 10: 2-191. Late (median, last probes): healthy 2.7e-4-7e-3; SGD 1e-2 4.4e-5, SGD 1e-6 4e-9.
UPDATE_RATIO_HIGH = 0.3
UPDATE_RATIO_LOW = 1e-4


# ---------------------------------------------------------------- judging probes (caedoctor.diagnosis, repair)

# A probe that ends no better than ~predicting the mean image has not converged; one that explains less
# than ~75% of the target variance after DEFAULT_STEPS steps learns slowly. Both are measured in
# bench/faults (healthy controls end between 0.01 and 0.12 on our data sets). The generated benchmark's
# healthy controls reach higher (up to 0.39 on small CNNs over RGB CIFAR-10 crops), and this level alone
# calls some of them slow (3 of 34 on its dev split, 6 of 35 on test3): bench/generated/README.md. A
# repaired model converges when it ends below SLOW_RELATIVE_MSE.
STUCK_RELATIVE_MSE = 0.9
SLOW_RELATIVE_MSE = 0.25

# A probe whose chunk loss exceeds 10x its first chunk's has diverged: it is stopped.
DIVERGED_FACTOR = 10.0

# A change must improve the metric by at least 5% to count, however quiet the seeds ...
MIN_MARGIN = 0.05
# ... and by 3x the seed-to-seed difference (two seeds give a rough estimate, so be generous).
NOISE_K = 3.0
# A repair keeps a fix for good, and one seed can beat the margin by luck: a confirmed gain below this many
# margins gets the paired second-seed replicate too (`judge.needs_second_seed(near_factor=...)`), judged as an ambiguous
# one. Not measured: chosen so a win within half a margin of the line is never taken on one seed alone.
NEAR_MARGIN_FACTOR = 1.5

# The joint stage retries a refuted fix on top of the strongest when it did no more than this much harm
# alone (a fault masked by another shows no effect alone: a narrow code behind a saturated output).
MASKED_TOLERANCE = 1.1
# When no single fix helps a failing model, at most this many of the fixes that did no harm alone are
# tried together (then each left out in turn: up to this many more probes). Two faults that only help
# together are the case the generated benchmark's issue names (0-255 data under a [0, 1] output and loss).
JOINT_MAX_FIXES = 3

# A run that looks fine on its own but that one confirmed change cuts by 40% or more (same steps) is
# learning slowly: "converging" would hide such a fix (1x1 strided encoder kernels that skip 3 of 4 pixels:
# 0.209 -> 0.110 at 500 steps, 12x at 2,000).
SLOW_GAIN = 0.6

# "More data would help" is tested on the learning curve: the probe trains on this share of the images.
# A quarter rather than a half: at probe length a 2x change hid the effect the ground truth measures at
# 2,000 steps (108 vs 54 Fashion-MNIST images: 0.1411 vs 0.1416 relative MSE).
DATA_FRACTION = 0.25

# Within this factor of the configured rate, the LR range test is no evidence either way (its suggestion
# varies about 2x between seeds on our data, bench/README.md).
LR_AGREEMENT_FACTOR = 3.0

# ---------------------------------------------------------------- sequential decisions and the time budget

# A counterfactual probe is scored on the check batch every SEQUENTIAL_CHECK_STEPS steps and decided early
# when its gain over the baseline *at the same step* is far beyond the noise: at least
# EARLY_CONFIRM_LOG_GAIN (the error cut to a third; and beyond the seed-noise margin when it is already
# measured), or below EARLY_REFUTE_LOG_GAIN (the error at least doubled), at EARLY_CONSECUTIVE checkpoints in
# a row; a confirmation not before EARLY_MIN_STEP, a refutation not before EARLY_REFUTE_MIN_STEP (a fix can
# start slower and still end better: scaled targets were 2x worse than the baseline at step 100 and 2x better
# at step 500 on bench/faults' target255_cifar). How often such an early decision differs from the probe's decision at
# its last step is measured on the fault benchmark's curves (bench/README.md, "Sequential decisions"); the
# target is under 2%.
SEQUENTIAL_CHECK_STEPS = 50
EARLY_MIN_STEP = 100
EARLY_REFUTE_MIN_STEP = 250
EARLY_CONSECUTIVE = 2
EARLY_CONFIRM_LOG_GAIN = 1.0986  # log(3)
EARLY_REFUTE_LOG_GAIN = -0.6931  # log(1/2)

# The time budget of a whole diagnosis (`diagnose(budget_seconds=...)`, `--budget-seconds`). A typical CPU
# diagnosis of the fault benchmark's development cases fits in it (bench/README.md, "Where the time goes").
# 60 s was tried first: on bench/faults it cut explain-away short on the cases with several confirmed fixes
# (lr_high_adam_p32 kept two consequences of its learning rate as causes), so the default leaves room for it.
DEFAULT_BUDGET_SECONDS = 120.0
# The baseline probe may take at most this share of the budget: a model too slow for that runs shorter
# probes (every probe of the diagnosis the same length), never fewer than MIN_PROBE_STEPS steps.
BASELINE_BUDGET_SHARE = 0.35
MIN_PROBE_STEPS = 100
# A counterfactual probe is started only when at least this share of a full probe's estimated time is left
# (enough to decide early on a clear effect); otherwise its suspicion stays `suspected`.
START_PROBE_SHARE = 0.4

# ---------------------------------------------------------------- the horizon

# Every verdict, cause and repair is about a number of training steps: the user's own training when
# caedoctor watches it, else this default, what the generated benchmark's ground truth trains (1,500 steps,
# 3x the 500-step probe; bench/generated/README.md).
DEFAULT_HORIZON_STEPS = 1500
# The forecaster's interval (`diagnosis.forecast`): the ensemble's log-scale spread times this factor gives
# the stated 80% interval. Measured on the generated development split (bench/forecast/README.md): the
# factor at which the forecast from a probe's first 500 steps covers its error at step 1,500 in 80% of probes.
FORECAST_INTERVAL_SCALE = 1.0
