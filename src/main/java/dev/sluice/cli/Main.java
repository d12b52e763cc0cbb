package dev.sluice.cli;

import java.util.Arrays;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code sluice} command line: {@code serve} (the default), {@code demo} and {@code sim}. */
@Command(
    name = "sluice",
    mixinStandardHelpOptions = true,
    versionProvider = Main.VersionProvider.class,
    description = "An LLM traffic sidecar: an OpenAI-compatible gateway that shapes traffic to rate-limited providers.",
    subcommands = {ServeCommand.class, DemoCommand.class, SimCommand.class},
    footer = "%nWith no command, 'serve' runs. 'sluice COMMAND --help' describes each command.")
public final class Main implements Runnable {
  private static final List<String> TOP_LEVEL_OPTIONS = List.of("-h", "--help", "-V", "--version");

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns the exit code. */
  static int run(String... args) {
    String[] effective = args;
    if (args.length == 0 || args[0].startsWith("-") && !TOP_LEVEL_OPTIONS.contains(args[0])) {
      effective = new String[args.length + 1];
      effective[0] = "serve";
      System.arraycopy(args, 0, effective, 1, args.length);
    }
    return new CommandLine(new Main()).execute(Arrays.copyOf(effective, effective.length));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  /** Reports the build's version. */
  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"sluice " + Version.current()};
    }
  }
}
