package dev.jailer.client;

import static java.util.Objects.requireNonNull;

/**
 * One request field the server refused, taken from the {@code google.rpc.BadRequest} detail of
 * an {@link ErrorCode#INVALID_ARGUMENT} (or other) failure.
 *
 * @param field the field's path in the request as the server names it, e.g. {@code box_id} or
 *     {@code volumes[1].host_path}
 * @param description what is wrong with it and what to change
 */
public record FieldViolation(String field, String description) {
  /** Checks that both parts are present; throws {@link NullPointerException} otherwise. */
  public FieldViolation {
    requireNonNull(field, "field");
    requireNonNull(description, "description");
  }

  @Override
  public String toString() {
    return field + ": " + description;
  }
}
