package dev.jbolt.distill.spring;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Holds one resource at a time, lends it out by reference count, and swaps it without waiting.
 *
 * <p>The slot owns one reference to the resource it holds; each {@link #acquire()} adds one and
 * each {@link Lease#close()} drops one. {@link #swap} installs the next resource at once and drops
 * the slot's reference to the previous one, which is released (closed) by whichever thread drops
 * the last reference: the swapping thread if nothing was in flight, else the last caller to finish
 * with it. A caller that read the previous entry just before a swap either gets its lease (the
 * count was still above zero, so the resource stays open until it is done) or sees a count of zero
 * and reads the slot again, finding the new entry. So no caller ever holds a released resource, and
 * no caller fails because of a swap.
 *
 * @param <T> the resource
 */
final class SwapSlot<T> {
    private final AtomicReference<Entry<T>> current = new AtomicReference<>();
    private final Consumer<T> release;
    private volatile boolean closed;

    /**
     * Creates an empty slot.
     *
     * @param release frees a resource once nobody uses it (called once per resource)
     */
    SwapSlot(Consumer<T> release) {
        this.release = Objects.requireNonNull(release, "release");
    }

    /**
     * Lends the current resource.
     *
     * @return a lease to close when done, or null if the slot is empty
     * @throws IllegalStateException if the slot is closed
     */
    Lease<T> acquire() {
        while (true) {
            if (closed) {
                throw new IllegalStateException("Cannot predict: the served model is closed");
            }
            Entry<T> entry = current.get();
            if (entry == null) {
                return null;
            }
            if (entry.retain()) {
                return new Lease<>(entry, release);
            }
            // The entry was swapped out and fully released between the read and the retain:
            // the slot holds a newer one (or is closed), so read again.
        }
    }

    /**
     * Installs a resource; the previous one is released once its last lease is closed.
     *
     * @param next the new resource
     * @return the previous resource (possibly already released), or null
     * @throws IllegalStateException if the slot is closed (then {@code next} is released)
     */
    T swap(T next) {
        Objects.requireNonNull(next, "next");
        Entry<T> entry = new Entry<>(next);
        Entry<T> previous;
        synchronized (this) {
            if (closed) {
                release.accept(next);
                throw new IllegalStateException("Cannot swap: the served model is closed");
            }
            previous = current.getAndSet(entry);
        }
        if (previous == null) {
            return null;
        }
        previous.drop(release);
        return previous.resource;
    }

    /**
     * Returns the current resource without lending it (for descriptions only).
     *
     * @return the resource, or null
     */
    T peek() {
        Entry<T> entry = current.get();
        return entry == null ? null : entry.resource;
    }

    /** Empties and closes the slot; the last resource is released once its leases are closed. */
    void close() {
        Entry<T> previous;
        synchronized (this) {
            closed = true;
            previous = current.getAndSet(null);
        }
        if (previous != null) {
            previous.drop(release);
        }
    }

    /** Tells whether {@link #close()} has run. */
    boolean isClosed() {
        return closed;
    }

    /** A borrowed reference to the resource; close it exactly once. */
    static final class Lease<T> implements AutoCloseable {
        private final Entry<T> entry;
        private final Consumer<T> release;
        private boolean closed;

        private Lease(Entry<T> entry, Consumer<T> release) {
            this.entry = entry;
            this.release = release;
        }

        /** Returns the borrowed resource. */
        T get() {
            return entry.resource;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                entry.drop(release);
            }
        }
    }

    private static final class Entry<T> {
        final T resource;
        // 1 for the slot's own reference, plus one per open lease; 0 = released.
        private final AtomicInteger refs = new AtomicInteger(1);

        Entry(T resource) {
            this.resource = resource;
        }

        boolean retain() {
            while (true) {
                int n = refs.get();
                if (n == 0) {
                    return false;
                }
                if (refs.compareAndSet(n, n + 1)) {
                    return true;
                }
            }
        }

        void drop(Consumer<T> release) {
            if (refs.decrementAndGet() == 0) {
                release.accept(resource);
            }
        }
    }
}
