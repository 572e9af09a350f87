package dev.jbolt.distill;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * Optimisation and distillation settings of one run (the request's {@code training} section).
 *
 * <p>Every default is the engine's ({@code rust/config.rs}): 10 epochs, batch size 32, learning
 * rate 5e-4 (AdamW), weight decay 0.01, learning-rate warm-up over 10% of the steps, gradient
 * clipping at 1.0, 128 tokens per text, temperature 4.0 falling to 1.0, alpha 0.5 (constant),
 * hard-label warm-up over 20% of the steps, no final hard-label stage, no hidden-state or attention
 * alignment, early stopping after 3 epochs without improvement, seed 42, libtorch's own thread
 * count, device {@code cpu}, teacher outputs cached in memory, no checkpoints, no baseline.
 *
 * <p>Setters return this object and do not check their values: the distiller checks every setting
 * when the run starts ({@link JboltDistiller#distill}) and throws {@link InvalidInputException}
 * naming the field (for example {@code training.learning_rate}), the value and the allowed range.
 * Not thread-safe; the distiller reads it when the run starts.
 */
public final class TrainingParams {
    private int epochs = 10;
    private int batchSize = 32;
    private double learningRate = 5e-4;
    private double weightDecay = 0.01;
    private double lrWarmupShare = 0.1;
    private double gradClip = 1.0;
    private int maxLength = 128;
    private double temperatureStart = 4.0;
    private double temperatureEnd = 1.0;
    private double alpha = 0.5;
    private Double alphaEnd;
    private double warmupShare = 0.2;
    private double finalHardShare = 0.0;
    private boolean hiddenAlignment;
    private String hiddenAlignmentLoss = "mse";
    private double hiddenAlignmentWeight = 1.0;
    private int[] layerMap;
    private boolean attentionAlignment;
    private double attentionWeight = 1.0;
    private int earlyStoppingPatience = 3;
    private long seed = 42;
    private Integer threads;
    private String device = "cpu";
    private boolean online;
    private Path cacheDir;
    private Path checkpointDir;
    private int checkpointEvery;
    private boolean resume;
    private boolean baseline;

    /** Creates settings with the engine's defaults. */
    public TrainingParams() {}

    /**
     * Sets the passes over the training data (at least 1; default 10).
     *
     * @param epochs the epoch count
     * @return these settings
     */
    public TrainingParams setEpochs(int epochs) {
        this.epochs = epochs;
        return this;
    }

    /**
     * Sets the rows per optimiser step (at least 1; default 32).
     *
     * @param batchSize the batch size
     * @return these settings
     */
    public TrainingParams setBatchSize(int batchSize) {
        this.batchSize = batchSize;
        return this;
    }

    /**
     * Sets the peak AdamW learning rate (above 0; default 5e-4).
     *
     * @param learningRate the learning rate
     * @return these settings
     */
    public TrainingParams setLearningRate(double learningRate) {
        this.learningRate = learningRate;
        return this;
    }

    /**
     * Sets the AdamW weight decay (at least 0; default 0.01).
     *
     * @param weightDecay the weight decay
     * @return these settings
     */
    public TrainingParams setWeightDecay(double weightDecay) {
        this.weightDecay = weightDecay;
        return this;
    }

    /**
     * Sets the share of all steps over which the learning rate rises linearly, in [0, 1] (default
     * 0.1).
     *
     * @param lrWarmupShare the warm-up share
     * @return these settings
     */
    public TrainingParams setLrWarmupShare(double lrWarmupShare) {
        this.lrWarmupShare = lrWarmupShare;
        return this;
    }

    /**
     * Sets the gradient-norm clipping threshold (at least 0, 0 turns clipping off; default 1.0).
     *
     * @param gradClip the threshold
     * @return these settings
     */
    public TrainingParams setGradClip(double gradClip) {
        this.gradClip = gradClip;
        return this;
    }

    /**
     * Sets the token limit per text (at least 2, at most the transformer student's positions;
     * default 128).
     *
     * @param maxLength the token limit
     * @return these settings
     */
    public TrainingParams setMaxLength(int maxLength) {
        this.maxLength = maxLength;
        return this;
    }

    /**
     * Sets the softmax temperature at the start and at the end of distillation (each above 0;
     * default 4.0 and 1.0).
     *
     * @param start the temperature at the first distillation step
     * @param end the temperature at the last distillation step
     * @return these settings
     */
    public TrainingParams setTemperature(double start, double end) {
        this.temperatureStart = start;
        this.temperatureEnd = end;
        return this;
    }

    /**
     * Sets the weight of the soft (teacher) loss against the hard (label) loss, in [0, 1] (default
     * 0.5).
     *
     * @param alpha the soft-loss weight
     * @return these settings
     */
    public TrainingParams setAlpha(double alpha) {
        this.alpha = alpha;
        return this;
    }

    /**
     * Sets the weight of the soft loss at the end of distillation, in [0, 1]; null (the default)
     * keeps {@link #setAlpha(double) alpha} constant.
     *
     * @param alphaEnd the final soft-loss weight, or null
     * @return these settings
     */
    public TrainingParams setAlphaEnd(Double alphaEnd) {
        this.alphaEnd = alphaEnd;
        return this;
    }

    /**
     * Sets the share of steps at the start trained on hard labels only, in [0, 1) (default 0.2;
     * with the final hard share below 1).
     *
     * @param warmupShare the hard-label warm-up share
     * @return these settings
     */
    public TrainingParams setWarmupShare(double warmupShare) {
        this.warmupShare = warmupShare;
        return this;
    }

    /**
     * Sets the share of steps at the end trained on hard labels only, in [0, 1) (default 0).
     *
     * @param finalHardShare the final hard-label share
     * @return these settings
     */
    public TrainingParams setFinalHardShare(double finalHardShare) {
        this.finalHardShare = finalHardShare;
        return this;
    }

    /**
     * Adds the hidden-state alignment loss between student and teacher layers (default false).
     *
     * @param hiddenAlignment whether to align hidden states
     * @return these settings
     */
    public TrainingParams setHiddenAlignment(boolean hiddenAlignment) {
        this.hiddenAlignment = hiddenAlignment;
        return this;
    }

    /**
     * Sets the hidden-state alignment loss: {@code mse} (default) or {@code cosine}.
     *
     * @param loss the loss name (case-insensitive)
     * @return these settings
     * @throws NullPointerException if {@code loss} is null
     */
    public TrainingParams setHiddenAlignmentLoss(String loss) {
        this.hiddenAlignmentLoss = Objects.requireNonNull(loss, "loss").toLowerCase(Locale.ROOT);
        return this;
    }

    /**
     * Sets the weight of the hidden-state alignment loss (at least 0; default 1.0).
     *
     * @param weight the weight
     * @return these settings
     */
    public TrainingParams setHiddenAlignmentWeight(double weight) {
        this.hiddenAlignmentWeight = weight;
        return this;
    }

    /**
     * Sets the teacher layer aligned with each student layer (1-based, 0 = the embeddings; one
     * entry per student layer); null or no arguments (the default) spread the student layers evenly
     * over the teacher's.
     *
     * @param teacherLayers the teacher layer for student layers 1, 2, ...
     * @return these settings
     */
    public TrainingParams setLayerMap(int... teacherLayers) {
        this.layerMap =
                teacherLayers == null || teacherLayers.length == 0 ? null : teacherLayers.clone();
        return this;
    }

    /**
     * Also aligns attention maps, MiniLM/TinyBERT style (default false).
     *
     * <p>Adds {@linkplain #setAttentionWeight the attention weight} times the mean, over mapped
     * layers, of the KL divergence between the teacher's and the student's attention rows (padding
     * masked). Student layer {@code i} meets the teacher layer {@linkplain #setLayerMap the layer
     * map} gives it, or the even spread when there is none; head-averaged maps are compared when
     * the head counts differ. Needs a transformer student and a Hugging Face directory teacher.
     * Attention maps are too large to cache, so this runs the teacher on every batch, as {@link
     * #setOnline(boolean) setOnline(true)} does.
     *
     * @param attentionAlignment whether to align attention maps
     * @return these settings
     */
    public TrainingParams setAttentionAlignment(boolean attentionAlignment) {
        this.attentionAlignment = attentionAlignment;
        return this;
    }

    /**
     * Sets the weight of the attention-alignment loss (at least 0; default 1.0).
     *
     * @param weight the weight
     * @return these settings
     */
    public TrainingParams setAttentionWeight(double weight) {
        this.attentionWeight = weight;
        return this;
    }

    /**
     * Sets the epochs without validation improvement before training stops (at least 0, 0 turns
     * early stopping off; default 3).
     *
     * @param patience the patience in epochs
     * @return these settings
     */
    public TrainingParams setEarlyStoppingPatience(int patience) {
        this.earlyStoppingPatience = patience;
        return this;
    }

    /**
     * Sets the seed of splits, shuffling and initialisation (at least 0; default 42).
     *
     * @param seed the seed
     * @return these settings
     */
    public TrainingParams setSeed(long seed) {
        this.seed = seed;
        return this;
    }

    /**
     * Sets libtorch's intra-op threads for the run (at least 1); null (the default) leaves
     * libtorch's choice.
     *
     * @param threads the thread count, or null
     * @return these settings
     */
    public TrainingParams setThreads(Integer threads) {
        this.threads = threads;
        return this;
    }

    /**
     * Sets the device: {@code cpu} (default), {@code cuda} or {@code cuda:N}.
     *
     * @param device the device name
     * @return these settings
     * @throws NullPointerException if {@code device} is null
     */
    public TrainingParams setDevice(String device) {
        this.device = Objects.requireNonNull(device, "device");
        return this;
    }

    /**
     * Runs the teacher on every batch instead of caching its outputs once (default false).
     *
     * @param online whether to run the teacher online
     * @return these settings
     */
    public TrainingParams setOnline(boolean online) {
        this.online = online;
        return this;
    }

    /**
     * Sets the directory of the teacher-output cache; null (the default) keeps it in memory only.
     *
     * @param cacheDir the directory, or null
     * @return these settings
     */
    public TrainingParams setCacheDir(Path cacheDir) {
        this.cacheDir = cacheDir;
        return this;
    }

    /**
     * Sets the directory for checkpoints; null (the default) writes none.
     *
     * @param checkpointDir the directory, or null
     * @return these settings
     */
    public TrainingParams setCheckpointDir(Path checkpointDir) {
        this.checkpointDir = checkpointDir;
        return this;
    }

    /**
     * Sets the optimiser steps between checkpoints (at least 0; 0, the default, checkpoints at the
     * end of each epoch only, when a checkpoint directory is set).
     *
     * @param steps the step interval
     * @return these settings
     */
    public TrainingParams setCheckpointEvery(int steps) {
        this.checkpointEvery = steps;
        return this;
    }

    /**
     * Continues from the last checkpoint in the checkpoint directory, which must be set (default
     * false).
     *
     * @param resume whether to resume
     * @return these settings
     */
    public TrainingParams setResume(boolean resume) {
        this.resume = resume;
        return this;
    }

    /**
     * Also trains the same student on hard labels only, for comparison (default false).
     *
     * @param baseline whether to train the baseline
     * @return these settings
     */
    public TrainingParams setBaseline(boolean baseline) {
        this.baseline = baseline;
        return this;
    }

    /**
     * @return the epoch count
     */
    public int getEpochs() {
        return epochs;
    }

    /**
     * @return the batch size
     */
    public int getBatchSize() {
        return batchSize;
    }

    /**
     * @return the peak learning rate
     */
    public double getLearningRate() {
        return learningRate;
    }

    /**
     * @return the weight decay
     */
    public double getWeightDecay() {
        return weightDecay;
    }

    /**
     * @return the learning-rate warm-up share
     */
    public double getLrWarmupShare() {
        return lrWarmupShare;
    }

    /**
     * @return the gradient clipping threshold
     */
    public double getGradClip() {
        return gradClip;
    }

    /**
     * @return the token limit per text
     */
    public int getMaxLength() {
        return maxLength;
    }

    /**
     * @return the temperature at the start of distillation
     */
    public double getTemperatureStart() {
        return temperatureStart;
    }

    /**
     * @return the temperature at the end of distillation
     */
    public double getTemperatureEnd() {
        return temperatureEnd;
    }

    /**
     * @return the soft-loss weight
     */
    public double getAlpha() {
        return alpha;
    }

    /**
     * @return the final soft-loss weight, or null when alpha stays constant
     */
    public Double getAlphaEnd() {
        return alphaEnd;
    }

    /**
     * @return the hard-label warm-up share
     */
    public double getWarmupShare() {
        return warmupShare;
    }

    /**
     * @return the final hard-label share
     */
    public double getFinalHardShare() {
        return finalHardShare;
    }

    /**
     * @return whether hidden states are aligned
     */
    public boolean isHiddenAlignment() {
        return hiddenAlignment;
    }

    /**
     * @return the hidden alignment loss name
     */
    public String getHiddenAlignmentLoss() {
        return hiddenAlignmentLoss;
    }

    /**
     * @return the hidden alignment weight
     */
    public double getHiddenAlignmentWeight() {
        return hiddenAlignmentWeight;
    }

    /**
     * @return a copy of the layer map, or null for the even spread
     */
    public int[] getLayerMap() {
        return layerMap == null ? null : layerMap.clone();
    }

    /**
     * @return whether attention maps are aligned
     */
    public boolean isAttentionAlignment() {
        return attentionAlignment;
    }

    /**
     * @return the attention alignment weight
     */
    public double getAttentionWeight() {
        return attentionWeight;
    }

    /**
     * @return the early-stopping patience in epochs
     */
    public int getEarlyStoppingPatience() {
        return earlyStoppingPatience;
    }

    /**
     * @return the seed
     */
    public long getSeed() {
        return seed;
    }

    /**
     * @return the intra-op thread count, or null for libtorch's choice
     */
    public Integer getThreads() {
        return threads;
    }

    /**
     * @return the device name
     */
    public String getDevice() {
        return device;
    }

    /**
     * @return whether the teacher runs online
     */
    public boolean isOnline() {
        return online;
    }

    /**
     * @return the teacher-output cache directory, or null
     */
    public Path getCacheDir() {
        return cacheDir;
    }

    /**
     * @return the checkpoint directory, or null
     */
    public Path getCheckpointDir() {
        return checkpointDir;
    }

    /**
     * @return the steps between checkpoints
     */
    public int getCheckpointEvery() {
        return checkpointEvery;
    }

    /**
     * @return whether the run resumes from a checkpoint
     */
    public boolean isResume() {
        return resume;
    }

    /**
     * @return whether the hard-label baseline is trained
     */
    public boolean isBaseline() {
        return baseline;
    }

    /**
     * Writes the {@code training} section of the request into {@code out}.
     *
     * @throws InvalidInputException for a negative count or seed (which JSON would carry as a value
     *     the engine cannot name well), or a negative or non-finite attention weight
     */
    void writeJson(ObjectNode out) {
        Checks.atLeast("training.epochs", epochs, 1);
        Checks.atLeast("training.batch_size", batchSize, 1);
        Checks.atLeast("training.max_length", maxLength, 2);
        Checks.atLeast("training.early_stopping_patience", earlyStoppingPatience, 0);
        Checks.atLeast("training.seed", seed, 0);
        Checks.atLeast("training.checkpoint_every", checkpointEvery, 0);
        if (threads != null) {
            Checks.atLeast("training.threads", threads, 1);
        }
        if (!(attentionWeight >= 0.0) || Double.isInfinite(attentionWeight)) {
            throw Checks.invalid(
                    "training.attention_weight",
                    "must be a finite number of at least 0, got " + attentionWeight);
        }
        out.put("epochs", epochs);
        out.put("batch_size", batchSize);
        out.put("learning_rate", learningRate);
        out.put("weight_decay", weightDecay);
        out.put("lr_warmup_share", lrWarmupShare);
        out.put("grad_clip", gradClip);
        out.put("max_length", maxLength);
        out.put("temperature_start", temperatureStart);
        out.put("temperature_end", temperatureEnd);
        out.put("alpha", alpha);
        if (alphaEnd != null) {
            out.put("alpha_end", alphaEnd);
        }
        out.put("hard_warmup_share", warmupShare);
        out.put("final_hard_share", finalHardShare);
        ObjectNode hidden = out.putObject("hidden_alignment");
        hidden.put("enabled", hiddenAlignment);
        hidden.put("loss", hiddenAlignmentLoss);
        hidden.put("weight", hiddenAlignmentWeight);
        if (layerMap != null) {
            ArrayNode map = hidden.putArray("layer_map");
            for (int i = 0; i < layerMap.length; i++) {
                Checks.atLeast("training.hidden_alignment.layer_map[" + i + "]", layerMap[i], 0);
                map.add(layerMap[i]);
            }
        }
        out.put("attention_alignment", attentionAlignment);
        out.put("attention_weight", attentionWeight);
        out.put("early_stopping_patience", earlyStoppingPatience);
        out.put("seed", seed);
        if (threads != null) {
            out.put("threads", threads);
        }
        out.put("device", device);
        out.put("online", online);
        if (cacheDir != null) {
            out.put("cache_dir", cacheDir.toString());
        }
        if (checkpointDir != null) {
            out.put("checkpoint_dir", checkpointDir.toString());
        }
        out.put("checkpoint_every", checkpointEvery);
        out.put("resume", resume);
        out.put("baseline", baseline);
    }

    @Override
    public String toString() {
        return "TrainingParams{epochs="
                + epochs
                + ", batchSize="
                + batchSize
                + ", learningRate="
                + learningRate
                + ", temperature="
                + temperatureStart
                + "->"
                + temperatureEnd
                + ", alpha="
                + alpha
                + (alphaEnd == null ? "" : "->" + alphaEnd)
                + ", layerMap="
                + Arrays.toString(layerMap)
                + ", seed="
                + seed
                + ", device="
                + device
                + "}";
    }
}
