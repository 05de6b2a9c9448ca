package dev.jailer.core.sandbox.linux;

import com.google.common.collect.ImmutableMap;
import dev.jailer.core.box.BoxLayout;
import dev.jailer.core.spawn.SpawnOptions;
import dev.jailer.core.stage.StageRecord;
import java.util.LinkedHashMap;
import java.util.Map;

/** The whole environment a shim starts with; nothing of the server's own reaches it. */
final class ShimEnvironment {
  private ShimEnvironment() {}

  /**
   * {@code PATH}, {@code HOME} and {@code TMPDIR} (the box's {@code tmp/}),
   * {@code LD_LIBRARY_PATH} and the caller's variables (already validated by
   * {@link SpawnOptions#validate()}).
   */
  static ImmutableMap<String, String> of(
      BoxLayout layout, StageRecord stage, SpawnOptions options) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", BwrapCommand.SANDBOX_PATH);
    env.put("HOME", layout.tmp().toString());
    env.put("TMPDIR", layout.tmp().toString());
    // bin/ first: the loader takes the first libkrunfw it finds, and only the box's own copy may
    // be the one (DESIGN.md section 1).
    env.put("LD_LIBRARY_PATH", layout.bin() + ":" + stage.shimDir());
    env.putAll(options.env());
    return ImmutableMap.copyOf(env);
  }
}
