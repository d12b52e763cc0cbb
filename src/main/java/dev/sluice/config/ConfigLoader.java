package dev.sluice.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Builds a {@link SluiceConfig} from built-in defaults, an optional YAML file and the environment, in that order
 * of precedence, and validates it fail-fast: the first bad value stops loading with a {@link ConfigException}
 * whose message names the key, the value and the legal range.
 *
 * <p>The environment overrides the file's {@code server}, {@code defaults} and {@code upstream}. The pool-level
 * variables ({@code SIDECAR_API_KEY}, {@code SIDECAR_RATE_RPM}, {@code SIDECAR_BUCKET_CAPACITY},
 * {@code SIDECAR_QUEUE_MAX}, {@code SIDECAR_FALLBACK_PASSTHROUGH}) describe the default pool {@code nvidia}: with
 * no pools in the file they build it (one backend at {@code SIDECAR_UPSTREAM}); with pools in the file they
 * override the pool named {@code nvidia} and its backends, and are rejected if the file has no such pool.
 *
 * <p>This class parses the file and puts the parts together: {@code EnvironmentLayer} reads the variables,
 * {@code ServerReader}, {@code DefaultsReader} and {@code PoolReader} read the file's sections, and
 * {@code CrossChecks} checks what spans several settings. Immutable and thread-safe.
 */
public final class ConfigLoader {
  public static final String ENV_HOST = "SIDECAR_HOST";
  public static final String ENV_PORT = "SIDECAR_PORT";
  public static final String ENV_METRICS_PORT = "SIDECAR_METRICS_PORT";
  public static final String ENV_METRICS_ENABLED = "SIDECAR_METRICS_ENABLED";
  public static final String ENV_DB_PATH = "SIDECAR_DB_PATH";
  public static final String ENV_UPSTREAM = "SIDECAR_UPSTREAM";
  public static final String ENV_API_KEY = "SIDECAR_API_KEY";
  public static final String ENV_RATE_RPM = "SIDECAR_RATE_RPM";
  public static final String ENV_BUCKET_CAPACITY = "SIDECAR_BUCKET_CAPACITY";
  /** Requests the default pool's backend may have in flight at once; 1..100, default 8. */
  public static final String ENV_MAX_CONCURRENT = "SIDECAR_MAX_CONCURRENT";
  public static final String ENV_TIMEOUT = "SIDECAR_TIMEOUT";
  public static final String ENV_QUEUE_MAX = "SIDECAR_QUEUE_MAX";
  public static final String ENV_LOW_TIMEOUT = "SIDECAR_LOW_TIMEOUT";
  public static final String ENV_FALLBACK_PASSTHROUGH = "SIDECAR_FALLBACK_PASSTHROUGH";
  public static final String ENV_LOG_LEVEL = "SIDECAR_LOG_LEVEL";
  public static final String ENV_ADMIN_TOKEN = "SIDECAR_ADMIN_TOKEN";
  public static final String ENV_MAX_BODY_BYTES = "SIDECAR_MAX_BODY_BYTES";
  public static final String ENV_MAX_CONNECTIONS_PER_UPSTREAM = "SIDECAR_MAX_CONNECTIONS_PER_UPSTREAM";

  private final EnvironmentLayer env;

  /** @param env the process environment, or a test's map */
  public ConfigLoader(Map<String, String> env) {
    this.env = new EnvironmentLayer(env);
  }

  /** Loads from the environment alone. */
  public SluiceConfig load() {
    return load(Optional.empty(), Optional.empty());
  }

  /** Loads the YAML file, then the environment over it. */
  public SluiceConfig load(Path yamlFile) {
    String text;
    try {
      text = Files.readString(yamlFile);
    } catch (NoSuchFileException e) {
      throw new ConfigException("--config", "file " + yamlFile + " does not exist");
    } catch (IOException e) {
      throw new ConfigException("--config", "cannot read " + yamlFile + ": " + e.getMessage(), e);
    }
    return loadYaml(text, yamlFile.toAbsolutePath().getParent());
  }

  /** Where and what, on one line: SnakeYAML's own report spans several, with the context and a caret drawing. */
  private static String yamlProblem(JacksonException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
        Mark mark = marked.getProblemMark();
        return "line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1) + ": " + marked.getProblem()
            + (marked.getContext() == null ? "" : " (" + marked.getContext() + ")");
      }
    }
    return e.getOriginalMessage().lines().findFirst().orElse("")
        + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")");
  }

  /** Loads YAML text, then the environment over it; {@code baseDir} resolves relative {@code api_key_file}s. */
  public SluiceConfig loadYaml(String yaml, Path baseDir) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
    } catch (JacksonException e) {
      throw ConfigException.withoutKey("config file is not valid YAML: " + yamlProblem(e));
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      return load(Optional.empty(), Optional.ofNullable(baseDir));
    }
    if (!root.isObject()) {
      throw new ConfigException("config file", "expected a mapping of server, defaults, upstream and pools at the top");
    }
    return load(Optional.of(Section.root(root)), Optional.ofNullable(baseDir));
  }

  /**
   * Reads the file's sections, if there is a file, with the environment laid over them, then checks what spans
   * several settings. {@code top} rejects its unknown keys once pools are read.
   */
  SluiceConfig load(Optional<Section> top, Optional<Path> baseDir) {
    ServerConfig server = ServerReader.read(top.flatMap(t -> t.section("server")), env);
    DefaultsConfig defaults = DefaultsReader.read(top.flatMap(t -> t.section("defaults")), env);
    Optional<URI> fileUpstream = top.flatMap(t -> t.string("upstream")).map(v -> Bounds.httpUrl("upstream", v));
    URI upstream = env.httpUrl(ENV_UPSTREAM).or(() -> fileUpstream)
        .orElse(URI.create(SluiceConfig.DEFAULT_UPSTREAM));
    List<PoolConfig> pools = top.flatMap(new PoolReader(env, baseDir)::read).map(env::overridePools)
        .orElseGet(() -> List.of(env.defaultPool(upstream)));
    Optional<String> defaultPool = top.flatMap(t -> t.string("default_pool"));
    top.ifPresent(Section::finish);
    CrossChecks.pools(pools);
    defaultPool.ifPresent(name -> CrossChecks.defaultPool(name, pools));
    Optional<Secret> adminToken = env.secret(ENV_ADMIN_TOKEN);
    CrossChecks.adminTokenBeyondLoopback(server.host(), adminToken);
    return new SluiceConfig(server, defaults, upstream, pools, defaultPool, env.logLevel(), adminToken);
  }
}
