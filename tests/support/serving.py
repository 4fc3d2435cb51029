"""A model fit on a transform run's rows and saved with the Trainer's serving signatures, and
raw rows as the serialized tf.Examples a client sends."""
import numpy as np


def tf_example(row, skip=("label",)):
    """A serialized tf.Example from a raw row; None (missing) features and `skip` are left out."""
    import tensorflow as tf
    feats = {}
    for name, value in row.items():
        if value is None or name in skip:
            continue
        if isinstance(value, str):
            feats[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
        elif isinstance(value, float):
            feats[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
        else:
            feats[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()


def export(run, plan, tmp_path_factory):
    """A model fit on a transform run's rows and saved with the serving signatures."""
    import tensorflow as tf
    import tensorflow_transform as tft
    import tf_keras

    from modules import features as F
    from modules import hooks as H
    from modules.model import DEFAULT_HPARAMS, build_keras_model
    from modules.trainer import make_serving_signatures
    tf_keras.utils.set_random_seed(0)
    output = tft.TFTransformOutput(run["transform_dir"])
    rows = run["transformed"]
    names = F.model_input_names(plan, H.derived_sizes(plan))
    x = {k: np.array([[r[k]] for r in rows]) for k in names}
    y = np.array([r[plan["label_xf"]] for r in rows])
    model = build_keras_model(DEFAULT_HPARAMS, plan)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    expected = model.predict(x, verbose=0)
    export_dir = str(tmp_path_factory.mktemp("model") / "serving")
    model.save(export_dir, save_format="tf",
               signatures=make_serving_signatures(model, output, plan))
    return {"loaded": tf.saved_model.load(export_dir), "expected": expected}
