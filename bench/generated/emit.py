"""Write a case's spec as the plain Keras program a user would hand over: `case.py` with `build_model`.

The program is straight-line Keras code (no helper functions, no loops), so a reader sees every layer, the
optimizer class with its arguments and the loss, exactly as a practitioner writes them: activations inline
(`activation="relu"`) or as layers (`layers.ReLU()`), depending on the spec's style; a sigmoid stack as
separate `layers.Activation("sigmoid")` layers. It imports only keras and says nothing about its faults.
"""

from __future__ import annotations

OPTIMIZER_CLASSES = ("Adam", "AdamW", "SGD", "RMSprop", "Nadam", "Adadelta")
_ACT_LAYER = {"relu": "layers.ReLU()", "leaky_relu": "layers.LeakyReLU(negative_slope=0.2)", "elu": "layers.ELU()",
              "tanh": 'layers.Activation("tanh")', "swish": 'layers.Activation("swish")',
              "sigmoid": 'layers.Activation("sigmoid")'}


def _num(v: float) -> str:
    return repr(float(f"{v:.4g}"))


class _Writer:
    def __init__(self, spec: dict):
        self.spec, self.m = spec, spec["model"]
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append("    " + line)

    def _extra_args(self, hidden: bool, regularize: bool = True) -> str:
        m, args = self.m, []
        if hidden and m["kernel_init"]:
            ki = m["kernel_init"]
            args.append(f"kernel_initializer=keras.initializers.{ki['class']}(stddev={_num(ki['stddev'])})")
        if hidden and m["bias_init"] is not None:
            args.append(f"bias_initializer=keras.initializers.Constant({_num(m['bias_init'])})")
        if hidden and regularize and m["l2"]:
            args.append(f"kernel_regularizer=keras.regularizers.L2({_num(m['l2'])})")
        return "".join(", " + a for a in args)

    def hidden(self, layer: str, sigmoid: bool, code: bool = False) -> None:
        """A hidden layer call `layer` (without its closing arguments) followed by its activation."""
        m = self.m
        act = "sigmoid" if sigmoid else m["act"]
        extra = self._extra_args(hidden=True)
        if code and m["activity_l1"]:
            extra += f", activity_regularizer=keras.regularizers.L1({_num(m['activity_l1'])})"
        separate = sigmoid or m["bn"] or m["act_style"] == "layer"
        if separate:
            self.add(f"x = {layer}{extra})(x)")
            if m["bn"] and not layer.startswith("layers.Dense"):
                self.add("x = layers.BatchNormalization()(x)")
            self.add(f"x = {_ACT_LAYER[act]}(x)")
        else:
            self.add(f'x = {layer}{extra}, activation="{act}")(x)')

    def model(self) -> list[str]:
        d, m = self.spec["data"], self.m
        s = m["stages"]
        filters = m["filters"]
        sig_enc = m["sigmoid_layers"] == "all"
        sig_dec = m["sigmoid_layers"] in ("all", "decoder")
        self.add("inputs = keras.Input(shape=input_shape)")
        self.add("x = inputs")
        self.add("# encoder")
        for i, f in enumerate(filters):
            k = m["enc_kernels"][i]
            if m["down"] == "pool":
                self.hidden(f'layers.Conv2D({f}, {k}, padding="same"', sig_enc)
                if m["skip"] == "deep" and i == s - 1:
                    self.add("skip = x")
                self.add("x = layers.MaxPooling2D(2)(x)")
            else:
                self.hidden(f'layers.Conv2D({f}, {k}, strides=2, padding="same"', sig_enc)
                if m["skip"] == "deep" and i == s - 2:
                    self.add("skip = x")
        if m["skip"] == "deep" and m["down"] == "stride" and s < 2:  # pragma: no cover - stages >= 2
            raise ValueError("a deep skip needs two encoder stages")
        self.add("# bottleneck")
        b = m["bottleneck"]
        code_map = d["crop"] // 2 ** s
        if b["kind"] == "conv":
            self.hidden(f'layers.Conv2D({b["channels"]}, {m["code_kernel"]}, padding="same"', sig_enc, code=True)
        else:
            last = filters[-1]
            widths = [b["units"]] if b["kind"] == "dense" else list(b["widths"])
            self.add("x = layers.Flatten()(x)")
            for w_i, w in enumerate(widths):
                self.hidden(f"layers.Dense({w}", sig_enc, code=(w_i == 0))
            self.hidden(f"layers.Dense({code_map * code_map * last}", sig_dec)
            self.add(f"x = layers.Reshape(({code_map}, {code_map}, {last}))(x)")
        self.add("# decoder")
        if m["decoder"] == "single":
            self.add(f"x = layers.UpSampling2D({2 ** s})(x)")
        else:
            for j, f in enumerate(reversed(filters)):
                width = max(2, f // 4) if m["decoder"] == "thin" else f
                last_stage = j == s - 1
                stride = 1 if (m["drop_last_upsample"] and last_stage) else 2
                if m["up"] == "upsample":
                    if stride == 2:
                        self.add("x = layers.UpSampling2D(2)(x)")
                    self.hidden(f'layers.Conv2D({width}, {m["dec_kernels"][j]}, padding="same"', sig_dec)
                else:
                    strides = f", strides={stride}" if stride != 1 else ""
                    self.hidden(f'layers.Conv2DTranspose({width}, {m["transpose_kernel"]}{strides}, padding="same"',
                                sig_dec)
                if m["dropout"]:
                    self.add(f"x = layers.Dropout({_num(m['dropout'])})(x)")
                if m["skip"] == "deep" and j == 0:
                    self.add("x = layers.Concatenate()([x, skip])")
        if m["skip"] == "input":
            self.add("x = layers.Concatenate()([x, inputs])")
        if m["out_crop"]:
            self.add(f"x = layers.Cropping2D({m['out_crop']})(x)")
        out_channels = m["out_channels"] or d["channels"]
        self.add(f'outputs = layers.Conv2D({out_channels}, 3, padding="same", activation="{m["out_act"]}")(x)')
        self.add('model = keras.Model(inputs, outputs, name="cae")')
        self.add(f"model.compile(optimizer={optimizer_code(self.spec['train'])}, loss=\"{self.spec['train']['loss']}\")")
        self.add("return model")
        return self.lines


def optimizer_code(t: dict) -> str:
    name = t["optimizer"]
    if name not in OPTIMIZER_CLASSES:
        raise ValueError(f"unknown optimizer {name!r}")
    if t["lr"] is None:
        raise ValueError("the learning rate is not set (the sweep sets it)")
    if t.get("lr_default"):
        return f"keras.optimizers.{name}()"
    args = f"learning_rate={_num(t['lr'])}"
    if name == "SGD":
        args += f", momentum={_num(t['momentum'])}"
    return f"keras.optimizers.{name}({args})"


def case_source(spec: dict, title: str) -> str:
    """The text of case.py for `spec`; `title` is the docstring's first line (no fault named in it)."""
    d = spec["data"]
    shape = (d["crop"], d["crop"], d["channels"])
    body = "\n".join(_Writer(spec).model())
    return (f'"""{title}"""\n\n'
            "import keras\n"
            "from keras import layers\n\n"
            f"BATCH_SIZE = {spec['train']['batch']}\n\n\n"
            f"def build_model(input_shape={shape!r}):\n"
            f"{body}\n")
