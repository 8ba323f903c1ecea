"""The field notes' three example CAEs, verbatim from ../shared/field-notes.md (module-level lines and
`LeakyReLU(alpha=...)` included: that is the user's code), with the one `import tensorflow as tf` at the
top; shared by the tests that hand them to caedoctor as a user would."""

FIELD_NOTES = '''\
import tensorflow as tf

def create_bad_cae(input_shape):
  encoder_input = tf.keras.layers.Input(shape=input_shape)
  # Encoder using RELU everywhere
  x = tf.keras.layers.Conv2D(32, (3,3), padding="same", activation="relu")(encoder_input)
  x = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)
  x = tf.keras.layers.Conv2D(64, (3,3), padding="same", activation="relu")(x)
  encoded = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)

  # Decoder with linear output
  x = tf.keras.layers.Conv2DTranspose(64, (3,3), padding="same", activation="relu")(encoded)
  x = tf.keras.layers.UpSampling2D((2,2))(x)
  x = tf.keras.layers.Conv2DTranspose(32, (3,3), padding="same", activation="relu")(x)
  x = tf.keras.layers.UpSampling2D((2,2))(x)
  decoded = tf.keras.layers.Conv2DTranspose(input_shape[-1], (3,3), padding="same", activation="linear")(x)

  return tf.keras.Model(encoder_input, decoded)

input_shape = (32, 32, 3)
bad_cae = create_bad_cae(input_shape)
bad_cae.compile(optimizer="adam", loss="mse")

def create_better_cae(input_shape):
    encoder_input = tf.keras.layers.Input(shape=input_shape)
    # Encoder with LeakyReLU
    x = tf.keras.layers.Conv2D(32, (3,3), padding="same")(encoder_input)
    x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
    x = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)
    x = tf.keras.layers.Conv2D(64, (3,3), padding="same")(x)
    x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
    encoded = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)

    # Decoder with Sigmoid output
    x = tf.keras.layers.Conv2DTranspose(64, (3,3), padding="same")(encoded)
    x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
    x = tf.keras.layers.UpSampling2D((2,2))(x)
    x = tf.keras.layers.Conv2DTranspose(32, (3,3), padding="same")(x)
    x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
    x = tf.keras.layers.UpSampling2D((2,2))(x)
    decoded = tf.keras.layers.Conv2DTranspose(input_shape[-1], (3,3), padding="same", activation="sigmoid")(x)

    return tf.keras.Model(encoder_input, decoded)

input_shape = (32, 32, 3)
better_cae = create_better_cae(input_shape)
better_cae.compile(optimizer="adam", loss="mse")

def create_hyper_bad_cae(input_shape):
  encoder_input = tf.keras.layers.Input(shape=input_shape)
  x = tf.keras.layers.Conv2D(32, (3,3), padding="same")(encoder_input)
  x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
  x = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)
  x = tf.keras.layers.Conv2D(64, (3,3), padding="same")(x)
  x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
  encoded = tf.keras.layers.MaxPool2D((2,2), padding="same")(x)

  x = tf.keras.layers.Conv2DTranspose(64, (3,3), padding="same")(encoded)
  x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
  x = tf.keras.layers.UpSampling2D((2,2))(x)
  x = tf.keras.layers.Conv2DTranspose(32, (3,3), padding="same")(x)
  x = tf.keras.layers.LeakyReLU(alpha=0.1)(x)
  x = tf.keras.layers.UpSampling2D((2,2))(x)
  decoded = tf.keras.layers.Conv2DTranspose(input_shape[-1], (3,3), padding="same", activation="sigmoid")(x)

  return tf.keras.Model(encoder_input, decoded)

input_shape = (32, 32, 3)
hyper_bad_cae = create_hyper_bad_cae(input_shape)
# very high learning rate will likely cause instability
optimizer = tf.keras.optimizers.Adam(learning_rate=0.1)
hyper_bad_cae.compile(optimizer=optimizer, loss="mse")

'''
