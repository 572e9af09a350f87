package dev.jbolt.distill.internal;

import java.lang.ref.Cleaner;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;

/**
 * Base of Java objects that own a native object through a {@code long} handle.
 *
 * <p>The handle comes from Rust ({@code Box::into_raw}) and goes back exactly once to the release
 * function given to the constructor: on the first {@link #close()}, or from a {@link Cleaner} if
 * the object becomes unreachable without being closed (a safety net, logged as a leak). {@code
 * close()} is idempotent. Native calls go through {@link #withHandle}, which throws {@link
 * IllegalStateException} naming the action after close, and holds a read lock so that {@code
 * close()} on another thread waits until calls in flight have finished.
 */
public abstract class NativeHandle implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final State state;
    private final Cleaner.Cleanable cleanable;

    /** A native call that receives the live handle. */
    @FunctionalInterface
    public interface HandleCall<T> {
        /**
         * Runs the call.
         *
         * @param handle the live native handle
         * @return the result
         */
        T apply(long handle);
    }

    /**
     * Takes ownership of a native handle.
     *
     * @param handle the handle from Rust, not 0
     * @param release the function that frees it (called at most once)
     * @param description what this object is, for messages (for example "student model /x")
     */
    protected NativeHandle(long handle, LongConsumer release, String description) {
        if (handle == 0) {
            throw new IllegalArgumentException("Native handle of " + description + " is 0");
        }
        this.state = new State(handle, release, description);
        this.cleanable = CLEANER.register(this, state);
    }

    /**
     * Runs a native call with the live handle.
     *
     * @param action what the call does, for the message after close (for example "predict")
     * @param call the call
     * @param <T> the result type
     * @return the call's result
     * @throws IllegalStateException if this object is closed
     */
    protected final <T> T withHandle(String action, HandleCall<T> call) {
        ReentrantReadWriteLock.ReadLock lock = state.lock.readLock();
        lock.lock();
        try {
            if (state.handle == 0) {
                throw new IllegalStateException(
                        "Cannot " + action + ": " + state.description + " is closed");
            }
            return call.apply(state.handle);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Tells whether {@link #close()} has run.
     *
     * @return true once closed
     */
    public final boolean isClosed() {
        return state.handle == 0;
    }

    /** Frees the native object; later calls do nothing. */
    @Override
    public final void close() {
        state.closedExplicitly = true;
        cleanable.clean();
    }

    /** Cleaning state; must not refer to the owner, or the owner would never be unreachable. */
    private static final class State implements Runnable {
        private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
        private final LongConsumer release;
        private final String description;
        private volatile long handle;
        private volatile boolean closedExplicitly;

        State(long handle, LongConsumer release, String description) {
            this.handle = handle;
            this.release = release;
            this.description = description;
        }

        @Override
        public void run() {
            ReentrantReadWriteLock.WriteLock writeLock = lock.writeLock();
            writeLock.lock();
            long h;
            try {
                h = handle;
                handle = 0;
            } finally {
                writeLock.unlock();
            }
            if (h != 0) {
                if (!closedExplicitly) {
                    org.slf4j.LoggerFactory.getLogger(NativeHandle.class)
                            .warn("{} was not closed; the cleaner released it", description);
                }
                release.accept(h);
            }
        }
    }
}
