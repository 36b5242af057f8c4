/* nn.h — the public interface of Digit Lab's neural-network engine.
 *
 * The app, the command line and the tests include this header and nothing
 * else from engine/: layer internals stay private (nn-private.h). Plain C11
 * with GLib; never GTK.
 *
 * Conventions:
 *  - Images are 28x28 float32, row-major, 0 = background, 1 = ink (MNIST).
 *  - Functions that can fail take a GError ** last and return FALSE/NULL.
 *  - Nothing here is thread-safe on the same object unless it says so;
 *    different objects may be used from different threads.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <cairo.h>

G_BEGIN_DECLS

#define NN_IMAGE_SIDE   28
#define NN_IMAGE_PIXELS (NN_IMAGE_SIDE * NN_IMAGE_SIDE)
#define NN_CLASSES      10

/* ---- Errors ------------------------------------------------------------ */

#define NN_ERROR (nn_error_quark ())
GQuark nn_error_quark (void);

/* Each code names one kind of failure, so tests and callers can tell them
 * apart; the message (translated) says what exactly is wrong and where. */
typedef enum {
  NN_ERROR_FAILED,              /* anything not listed below */
  NN_ERROR_IO,                  /* a file could not be read or written */
  NN_ERROR_CANCELLED,           /* the caller asked to stop */
  NN_ERROR_SPEC,                /* architecture spec does not parse or fit */
  NN_ERROR_PARAMETER,           /* impossible hyper-parameter */
  NN_ERROR_EMPTY_DRAWING,       /* no ink to recognise */
  NN_ERROR_DRAWING,             /* a drawing that is not valid (JSON, points) */

  NN_ERROR_IDX_MISSING,         /* no such IDX file in the folder */
  NN_ERROR_IDX_COMPRESSION,     /* gzip stream is corrupt */
  NN_ERROR_IDX_MAGIC,           /* magic number wrong for the file's role */
  NN_ERROR_IDX_DIMENSIONS,      /* image size not 28x28 or a zero count */
  NN_ERROR_IDX_TRUNCATED,       /* fewer bytes than the header promises */
  NN_ERROR_IDX_TRAILING,        /* more bytes than the header promises */
  NN_ERROR_IDX_LABEL_RANGE,     /* a label outside 0..9 */
  NN_ERROR_IDX_COUNT_MISMATCH,  /* images and labels disagree in number */

  NN_ERROR_MODEL_HEADER_SIZE,   /* header length field out of bounds */
  NN_ERROR_MODEL_JSON,          /* header is not valid JSON / not an object */
  NN_ERROR_MODEL_METADATA,      /* __metadata__ missing or unusable */
  NN_ERROR_MODEL_DTYPE,         /* a tensor that is not F32 */
  NN_ERROR_MODEL_SHAPE,         /* tensor shape disagrees with the arch */
  NN_ERROR_MODEL_MISSING_TENSOR,/* the arch needs a tensor the file lacks */
  NN_ERROR_MODEL_EXTRA_TENSOR,  /* the file has a tensor the arch lacks */
  NN_ERROR_MODEL_OFFSETS,       /* data offsets outside the file/overlapping */
  NN_ERROR_MODEL_NONFINITE,     /* NaN or Inf among the weights */
  NN_ERROR_MODEL_VERSION,       /* format name or version not ours */
} NnError;

/* ---- Threads ----------------------------------------------------------- */

/* Number of OpenMP threads the engine's loops use (0 = all cores). Results
 * never depend on it: every loop's thread owns the outputs it writes. */
void nn_set_threads (int n_threads);
int  nn_get_threads (void);

/* ---- Random numbers ---------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: same seed, same sequence, on any
 * platform. */
typedef struct { guint64 s[4]; } NnRng;

void    nn_rng_init    (NnRng *rng, guint64 seed);
guint64 nn_rng_next    (NnRng *rng);
guint32 nn_rng_below   (NnRng *rng, guint32 bound);   /* uniform in [0, bound) */
float   nn_rng_uniform (NnRng *rng);                  /* uniform in [0, 1) */
float   nn_rng_normal  (NnRng *rng);                  /* mean 0, std 1 */
void    nn_rng_shuffle (NnRng *rng, guint32 *items, guint n);

/* ---- Data sets --------------------------------------------------------- */

/* Images stay as bytes (0 = background, 255 = ink) and are converted to
 * floats one batch at a time. */
typedef struct {
  guint8 *images;   /* count * rows * cols bytes */
  guint8 *labels;   /* count labels, each 0..9 */
  guint   count;
  guint   rows;     /* always 28 for now */
  guint   cols;
} NnDataset;

/* Reads one IDX image file and its label file (gzipped or not; the ".gz"
 * is detected from the content, not the name). Every check named in NnError
 * is made before the data set is returned. */
NnDataset *nn_dataset_load_idx  (const char *images_path,
                                 const char *labels_path,
                                 GError    **error);
/* Looks in @dir for the standard MNIST names, each with or without .gz:
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte. Works for Fashion-MNIST as Debian ships it.
 * Either of @train and @test may be NULL to skip loading that half. */
gboolean   nn_dataset_load_dir  (const char  *dir,
                                 NnDataset  **train,
                                 NnDataset  **test,
                                 GError     **error);
/* A copy of items [start, start + count). */
NnDataset *nn_dataset_subset    (const NnDataset *dataset, guint start, guint count);
void       nn_dataset_free      (NnDataset *dataset);
/* Item @index as floats in [0, 1] into @out (rows * cols floats). */
void       nn_dataset_get_image (const NnDataset *dataset, guint index, float *out);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NnDataset, nn_dataset_free)

/* ---- Architectures ----------------------------------------------------- */

/* A spec is a short text a person can type: layers separated by spaces (or
 * commas), from the 1x28x28 input to 10 logits; softmax + cross-entropy is
 * implied at the end. Layers:
 *   conv5x5:32        2-D convolution, odd kernel, 32 output channels, "same"
 *   conv3x3:16:valid  the same with "valid" padding
 *   maxpool           2x2 max-pooling, stride 2 (also "pool")
 *   dense:128         fully connected (also "fc:128"); flattens what it gets
 *   relu
 *   dropout:0.25      training only
 *   batchnorm         (also "bn") per-channel / per-feature batch norm
 * Presets: "mlp", "lenet5", "bench-cnn", "default" — a preset name is
 * accepted wherever a spec is. */
typedef struct {
  const char *name;
  const char *spec;
  const char *description;   /* translated, one line */
} NnPreset;

const NnPreset *nn_presets        (guint *n_presets);
/* The spec text for a preset name, or @spec itself. Never NULL. */
const char     *nn_spec_expand    (const char *spec_or_preset);
/* Parses and checks @spec without building a model; on success tells the
 * number of trainable parameters. Errors say which layer (1-based) and
 * which word is wrong. Cheap enough to call on every keystroke. */
gboolean        nn_spec_validate  (const char *spec_or_preset,
                                   gsize      *n_params,
                                   GError    **error);

/* ---- Models ------------------------------------------------------------ */

typedef struct _NnModel NnModel;

/* A fresh model with He-initialised weights drawn from @seed. */
NnModel    *nn_model_new             (const char *spec_or_preset,
                                      guint64     seed,
                                      GError    **error);
NnModel    *nn_model_copy            (const NnModel *model);
void        nn_model_free            (NnModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NnModel, nn_model_free)

/* The canonical spec (presets expanded, one space between layers). */
const char *nn_model_get_spec        (const NnModel *model);
gsize       nn_model_get_param_count (const NnModel *model);
guint       nn_model_get_n_layers    (const NnModel *model);
/* One line per layer for people, e.g. "conv5x5:32  1x28x28 -> 32x28x28  832 params". */
char       *nn_model_describe        (const NnModel *model);

/* The model's tensors in a fixed order, named as PyTorch would name them
 * ("layers.0.weight", "layers.0.bias", "layers.3.running_mean", ...).
 * Shapes follow PyTorch: conv weight [out, in, k, k], dense weight
 * [out, in] with inputs flattened in C, H, W order. */
typedef struct {
  const char *name;
  guint       ndim;
  guint       shape[4];
  gsize       n_elements;
  float      *data;        /* points into the model; writable */
  gboolean    trainable;   /* FALSE for buffers such as running means */
} NnTensor;

guint       nn_model_get_n_tensors   (const NnModel *model);
void        nn_model_get_tensor      (NnModel *model, guint index, NnTensor *out);
/* Predictions keep the convolution weights rearranged for the kernels
 * until the weights change. Writes through a tensor's data between
 * nn_model_get_tensor() and the next prediction are seen; a pointer kept
 * and written to later needs this call before the next prediction. */
void        nn_model_weights_changed (NnModel *model);

/* Free-form string metadata kept with the model and saved in its file
 * (see docs/model-format.md for the keys Digit Lab writes). */
void        nn_model_set_metadata    (NnModel *model, const char *key, const char *value);
const char *nn_model_get_metadata    (const NnModel *model, const char *key);
/* Sorted keys, NULL-terminated; free with g_strfreev. */
char      **nn_model_list_metadata   (const NnModel *model);

/* Class probabilities for @n images (n * 784 floats) into @probs
 * (n * 10 floats). Uses scratch memory kept in the model, so one model must
 * not predict from two threads at once. */
void        nn_model_predict         (NnModel *model, const float *images,
                                      guint n, float *probs);
/* Accuracy on @dataset; fills @confusion[true][predicted] when not NULL. */
double      nn_model_evaluate        (NnModel *model, const NnDataset *dataset,
                                      guint confusion[NN_CLASSES][NN_CLASSES]);

/* ---- Confidence -------------------------------------------------------- */

/* Below this probability for its most likely digit, a prediction is "not
 * sure": the app says so rather than name a digit. It is the highest
 * threshold that withholds at most one in 1,000 of the default model's right
 * answers on the MNIST test set (6 of 9,961 at 0.35, 13 at 0.4): handwriting
 * is rarely held back (0.07% of the test images), while four in five random
 * scribbles are, the default model having been trained to spread its answer
 * for them (--scribbles). bench/unsure-threshold measures it; the figures
 * are in docs/default-model.md. */
#define NN_UNSURE_THRESHOLD 0.35f

/* Two digits this close (the second at least this share of the first) are a
 * tie, whatever the first's probability: a 1 at 52% against a 7 at 48% is
 * no answer. With the threshold above, the default model withholds 9 of its
 * 9,961 right MNIST answers, still within one in 1,000. */
#define NN_UNSURE_TIE 0.9f

/* TRUE when @probabilities do not single out one digit firmly enough to
 * name it (top probability below NN_UNSURE_THRESHOLD of their sum, or the
 * second within NN_UNSURE_TIE of the top), and for values that are not
 * probabilities (NaN, negative, all zero). */
gboolean    nn_prediction_is_unsure  (const float probabilities[NN_CLASSES]);

/* ---- Model files (safetensors) ----------------------------------------- */

/* What every model file's metadata says of itself (docs/model-format.md);
 * a file that says otherwise is refused. */
#define NN_MODEL_FORMAT         "digitlab-model"
#define NN_MODEL_FORMAT_VERSION "1"
#define NN_MODEL_INPUT          "1x28x28 float32, 0 = background, 1 = ink, MNIST preprocessing"

/* Atomic: written to a temporary file beside @path, then renamed. */
gboolean    nn_model_save            (NnModel *model, const char *path, GError **error);
GBytes     *nn_model_save_to_bytes   (NnModel *model);
/* Everything is validated before any of it is trusted. */
NnModel    *nn_model_load            (const char *path, GError **error);
NnModel    *nn_model_load_from_bytes (GBytes *bytes, GError **error);
/* The model embedded in the program (GResource); NULL only if the resource
 * is missing, which is a build error. */
NnModel    *nn_model_load_default    (GError **error);

/* ---- Training ---------------------------------------------------------- */

typedef enum {
  NN_OPTIMIZER_SGD,      /* with momentum */
  NN_OPTIMIZER_ADAM,
} NnOptimizer;

typedef enum {
  NN_SCHEDULE_CONSTANT,
  NN_SCHEDULE_COSINE,    /* cosine decay to 0 over the whole run */
  NN_SCHEDULE_ONECYCLE,  /* linear warm-up for 30%, then cosine to 0 */
} NnSchedule;

typedef struct {
  guint       epochs;            /* >= 1 */
  guint       batch_size;        /* 1 .. 4096 */
  float       learning_rate;     /* > 0, finite */
  NnOptimizer optimizer;
  float       momentum;          /* SGD, in [0, 1) */
  float       weight_decay;      /* decoupled (AdamW style), >= 0 */
  NnSchedule  schedule;
  guint64     seed;              /* shuffling, dropout, augmentation */
  gboolean    augment;           /* random distortions per batch */
  gboolean    digit_styles;      /* with augment, for digits: flagged 1s and
                                    crossed 7s, which MNIST seldom has */
  float       label_smoothing;   /* in [0, 1) */
  float       scribbles;         /* share of training images replaced by
                                    scribbles that are no digit, in [0, 0.5] */
} NnTrainConfig;

/* Adam, 1e-3, batch 64, one epoch, cosine schedule, seed 1. */
void     nn_train_config_init     (NnTrainConfig *config);
/* Says which field is impossible and why. */
gboolean nn_train_config_validate (const NnTrainConfig *config, GError **error);
const char *nn_optimizer_to_string (NnOptimizer optimizer);
gboolean    nn_optimizer_from_string (const char *text, NnOptimizer *out);
const char *nn_schedule_to_string  (NnSchedule schedule);
gboolean    nn_schedule_from_string (const char *text, NnSchedule *out);

/* Reported after every batch. */
typedef struct {
  guint  epoch;              /* 0-based */
  guint  epochs;
  guint  batch;              /* 0-based within the epoch */
  guint  batches_per_epoch;
  float  loss;               /* this batch's mean loss */
  float  accuracy;           /* this batch's training accuracy */
  float  learning_rate;
  double images_per_s;       /* over the current epoch so far */
  double elapsed_s;          /* since the run (not this call) started */
  double eta_s;              /* estimated time left in the run */
} NnBatchReport;

/* Reported after every epoch. */
typedef struct {
  guint  epoch;              /* 0-based */
  guint  epochs;
  float  train_loss;         /* mean over the epoch */
  float  train_accuracy;     /* over the epoch, as trained */
  float  test_accuracy;      /* on the test set, -1 if there is none */
  double seconds;            /* this epoch's training time */
} NnEpochReport;

typedef struct {
  /* Called on the training thread; keep them quick. Any may be NULL. */
  void (*batch_done) (const NnBatchReport *report, gpointer user_data);
  void (*epoch_done) (const NnEpochReport *report, gpointer user_data);
  gpointer user_data;
} NnTrainCallbacks;

typedef struct _NnTrainer NnTrainer;

/* The trainer updates @model in place; it keeps references to the data
 * sets, which must outlive it. @test may be NULL. */
NnTrainer *nn_trainer_new       (NnModel             *model,
                                 const NnDataset     *train,
                                 const NnDataset     *test,
                                 const NnTrainConfig *config,
                                 GError             **error);
void       nn_trainer_free      (NnTrainer *trainer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NnTrainer, nn_trainer_free)

/* Trains until the configured epochs are done (TRUE) or @cancellable fires
 * (FALSE with NN_ERROR_CANCELLED, checked between batches). A cancelled
 * trainer's model is valid, and calling run again continues exactly where it
 * stopped: the finished run is bitwise the same as one never interrupted.
 * That is how pause and resume work. */
gboolean   nn_trainer_run       (NnTrainer              *trainer,
                                 const NnTrainCallbacks *callbacks,
                                 GCancellable           *cancellable,
                                 GError                **error);
gboolean   nn_trainer_is_done   (const NnTrainer *trainer);
guint      nn_trainer_get_epoch (const NnTrainer *trainer);   /* epochs finished */
NnModel   *nn_trainer_get_model (NnTrainer *trainer);

/* Checkpoints: the model, the optimizer's state, the random generator and
 * the position, at an epoch boundary, in one safetensors file (atomic).
 * Resuming and finishing gives the same weights as never stopping. */
gboolean   nn_trainer_save_checkpoint (NnTrainer *trainer, const char *path, GError **error);
NnTrainer *nn_trainer_load_checkpoint (const char       *path,
                                       const NnDataset  *train,
                                       const NnDataset  *test,
                                       GError          **error);

/* ---- Drawings and preprocessing ---------------------------------------- */

/* What the person drew, in canvas pixels (origin top-left, y down). The
 * canvas, the CLI (predict --strokes) and the tests all render drawings with
 * the same code, so a drawing means the same thing everywhere. */
typedef struct { float x, y; } NnPoint;

/* The side, in pixels, of the raster a drawing is recognised from: the app's
 * canvas keeps its strokes in a square of this many logical pixels, whatever
 * its size on screen. nn_drawing_to_image maps a drawing of any size onto it
 * with one uniform scale, pen included (the longer side becomes this long),
 * so strokes recorded in screen pixels of a canvas of any size are read
 * exactly as the canvas reads them; a drawing whose longer side already has
 * this length is rendered as it is. */
#define NN_DRAWING_RASTER_SIDE 280

typedef struct _NnDrawing NnDrawing;

NnDrawing *nn_drawing_new          (guint width, guint height);
NnDrawing *nn_drawing_copy         (const NnDrawing *drawing);
void       nn_drawing_free         (NnDrawing *drawing);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NnDrawing, nn_drawing_free)
guint      nn_drawing_get_width    (const NnDrawing *drawing);
guint      nn_drawing_get_height   (const NnDrawing *drawing);
/* Pen width in pixels; defaults to nn_pen_width_for_size(width, height, 1). */
void       nn_drawing_set_pen_width(NnDrawing *drawing, float pen_width);
float      nn_drawing_get_pen_width(const NnDrawing *drawing);
/* The pen width rule: proportional to the canvas (about 1/14 of the shorter
 * side at @scale 1, like MNIST's strokes relative to its digit box). */
float      nn_pen_width_for_size   (guint width, guint height, float scale);

void       nn_drawing_begin_stroke (NnDrawing *drawing, float x, float y);
void       nn_drawing_extend_stroke(NnDrawing *drawing, float x, float y);
guint      nn_drawing_get_n_strokes(const NnDrawing *drawing);
const NnPoint *nn_drawing_get_stroke (const NnDrawing *drawing, guint index, guint *n_points);
gboolean   nn_drawing_is_empty     (const NnDrawing *drawing);
/* Undo/redo work on whole strokes; begin_stroke clears the redo list. */
gboolean   nn_drawing_undo         (NnDrawing *drawing);
gboolean   nn_drawing_redo         (NnDrawing *drawing);
gboolean   nn_drawing_can_undo     (const NnDrawing *drawing);
gboolean   nn_drawing_can_redo     (const NnDrawing *drawing);
void       nn_drawing_clear        (NnDrawing *drawing);   /* undoable */

/* Appends the drawing's strokes to @cr's path as smooth curves (round caps
 * and joins; a one-point stroke is a dot) and strokes them with the current
 * source. The canvas uses it to paint, the rasterizer to render. */
void       nn_drawing_paint        (const NnDrawing *drawing, cairo_t *cr);
/* Renders to width * height floats, 0 = background, 1 = ink, anti-aliased. */
float     *nn_drawing_rasterize    (const NnDrawing *drawing);

/* One JSON object {"width": W, "height": H, "strokes": [[[x, y], ...], ...]}
 * (optionally "pen_width"). */
NnDrawing *nn_drawing_from_json    (const char *json, GError **error);
char      *nn_drawing_to_json      (const NnDrawing *drawing);

/* MNIST-style preprocessing of a grayscale raster (0 = background,
 * 1 = ink): crop to the ink's bounding box, scale to fit 20x20 keeping the
 * aspect ratio (area-averaged, so anti-aliased), paste into 28x28 with the
 * centre of mass at the centre. NN_ERROR_EMPTY_DRAWING when there is no
 * ink. See docs/preprocessing.md. */
gboolean   nn_preprocess           (const float *raster, guint width, guint height,
                                    float out[NN_IMAGE_PIXELS], GError **error);
/* rasterize + preprocess in one call. */
gboolean   nn_drawing_to_image     (const NnDrawing *drawing,
                                    float out[NN_IMAGE_PIXELS], GError **error);

/* ---- Profiling --------------------------------------------------------- */

/* One layer's cost in a training step (see nn_model_profile_layers). */
typedef struct {
  char   name[32];        /* the layer's spec word, e.g. "conv5x5:32" */
  double forward_s;       /* median seconds of one forward pass on the batch */
  double backward_s;      /* median seconds of one backward pass */
  double forward_flop;    /* arithmetic done, a multiply-add counting 2; 0 for */
  double backward_flop;   /* layers that only compare or move data */
  double forward_best_s;  /* the fastest run of each: on a busy machine */
  double backward_best_s; /* other work only ever slows a run down */
} NnLayerProfile;

/* Times each layer of @model on its own, forward then backward as training
 * runs them (the first layer with parameters computes no input gradient,
 * those before it no backward pass at all), on @batch_size
 * random images, @repeats times, and reports the medians: one entry per
 * layer (nn_model_get_n_layers), to free with g_free. The model is left as
 * it was. The benchmark holds each kernel against the machine's FMA peak
 * with it. */
NnLayerProfile *nn_model_profile_layers (NnModel *model,
                                         guint    batch_size,
                                         guint    repeats,
                                         GError **error);

G_END_DECLS
