package dev.sluice;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.assignableTo;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaCall.Predicates.target;
import static com.tngtech.archunit.core.domain.properties.HasOwner.Predicates.With.owner;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.constructors;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.sluice.proxy.Forwarder;
import dev.sluice.time.Clock;
import org.junit.jupiter.api.Test;

/**
 * The package rules, checked on the compiled main classes: imports run one way, from the command line down to the
 * clock. Tests may reach across packages (a proxy test starts the simulated provider).
 */
class ArchitectureTest {
  private static final JavaClasses MAIN = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("dev.sluice");

  @Test
  void noTwoPackagesDependOnEachOther() {
    slices().matching("dev.sluice.(*)..").should().beFreeOfCycles().check(MAIN);
  }

  @Test
  void limitUsesNothingOfSluiceButTheClock() {
    noClasses().that().resideInAPackage("dev.sluice.limit..")
        .should().dependOnClassesThat(resideInAPackage("dev.sluice..")
            .and(not(resideInAnyPackage("dev.sluice.limit..", "dev.sluice.time.."))))
        .check(MAIN);
  }

  @Test
  void theSharedHttpHelpersUseNothingOfSluice() {
    noClasses().that().resideInAPackage("dev.sluice.http..")
        .should().dependOnClassesThat(resideInAPackage("dev.sluice..").and(not(resideInAPackage("dev.sluice.http.."))))
        .check(MAIN);
  }

  /** Limiters decide on the instant their caller read once; the dispatcher reads time only through its Clock. */
  @Test
  void limitAndScheduleNeverReadTheTimeThemselves() {
    noClasses().that().resideInAPackage("dev.sluice.limit..")
        .should().callMethodWhere(target(owner(assignableTo(Clock.class))))
        .check(MAIN);
    noClasses().that().resideInAnyPackage("dev.sluice.limit..", "dev.sluice.schedule..")
        .should().callMethod(System.class, "nanoTime")
        .orShould().callMethod(System.class, "currentTimeMillis")
        .check(MAIN);
  }

  /** Status pages and metrics see snapshots and interfaces, never the dispatcher, a backend or a limiter. */
  @Test
  void observeReadsTheCoreOnlyThroughViews() {
    noClasses().that().resideInAPackage("dev.sluice.observe..")
        .should().dependOnClassesThat(resideInAnyPackage("dev.sluice.route..", "dev.sluice.schedule..",
            "dev.sluice.backend..", "dev.sluice.config..", "dev.sluice.limit..")
            .and(not(DescribedPredicate.describe("interfaces, records and enums (nested only in such)",
                ArchitectureTest::isView))))
        .check(MAIN);
  }

  private static boolean isView(JavaClass type) {
    return (type.isInterface() || type.isRecord() || type.isEnum())
        && type.getEnclosingClass().map(ArchitectureTest::isView).orElse(true);
  }

  /**
   * The admin API changes the core through its public setters and the composition root's {@code ConfigApplier},
   * never through the proxy's or the status pages' internals; neither of those knows the admin API.
   */
  @Test
  void adminStandsBesideProxyAndObserve() {
    noClasses().that().resideInAPackage("dev.sluice.admin..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.sluice.proxy..", "dev.sluice.observe..")
        .check(MAIN);
    noClasses().that().resideInAnyPackage("dev.sluice.proxy..", "dev.sluice.observe..")
        .should().dependOnClassesThat().resideInAPackage("dev.sluice.admin..")
        .check(MAIN);
  }

  /** The state store implements what backend declares, knows nothing above it, and only the command line opens it. */
  @Test
  void theStoreSeesOnlyBackendConfigAndTimeAndOnlyTheCommandLineSeesTheStore() {
    noClasses().that().resideInAPackage("dev.sluice.store..")
        .should().dependOnClassesThat(resideInAPackage("dev.sluice..").and(not(resideInAnyPackage(
            "dev.sluice.store..", "dev.sluice.backend..", "dev.sluice.config..", "dev.sluice.time.."))))
        .check(MAIN);
    noClasses().that().resideOutsideOfPackages("dev.sluice.store..", "dev.sluice.cli..")
        .should().dependOnClassesThat().resideInAPackage("dev.sluice.store..")
        .check(MAIN);
  }

  @Test
  void nothingDependsOnTheCommandLine() {
    noClasses().that().resideOutsideOfPackage("dev.sluice.cli..")
        .should().dependOnClassesThat().resideInAPackage("dev.sluice.cli..")
        .check(MAIN);
  }

  @Test
  void theForwarderIsBuiltOnlyByTheCompositionRoot() {
    constructors().that().areDeclaredIn(Forwarder.class)
        .should().onlyBeCalled().byClassesThat().resideInAPackage("dev.sluice.cli..")
        .check(MAIN);
  }

  /**
   * cli → proxy, observe, admin → route, schedule → backend → config → limit → time; the simulated provider stands
   * beside them, uses only the clock and is started only by the command line. The HTTP helpers every endpoint
   * shares (Sluice's own error answers) stand beside them too, used by the endpoints and using nothing of Sluice.
   * The state store implements what backend declares (it may use backend, config and time) and only the command
   * line opens it.
   */
  @Test
  void lowerLayersNeverDependOnUpperOnes() {
    layeredArchitecture().consideringOnlyDependenciesInLayers()
        .ensureAllClassesAreContainedInArchitecture()
        .layer("cli").definedBy("dev.sluice.cli..")
        .layer("proxy/observe").definedBy("dev.sluice.proxy..", "dev.sluice.observe..", "dev.sluice.admin..")
        .layer("route/schedule").definedBy("dev.sluice.route..", "dev.sluice.schedule..")
        .layer("backend").definedBy("dev.sluice.backend..")
        .layer("config").definedBy("dev.sluice.config..")
        .layer("limit").definedBy("dev.sluice.limit..")
        .layer("time").definedBy("dev.sluice.time..")
        .layer("sim").definedBy("dev.sluice.sim..")
        .layer("http").definedBy("dev.sluice.http..")
        .layer("store").definedBy("dev.sluice.store..")
        .whereLayer("cli").mayNotBeAccessedByAnyLayer()
        .whereLayer("proxy/observe").mayOnlyBeAccessedByLayers("cli")
        .whereLayer("route/schedule").mayOnlyBeAccessedByLayers("cli", "proxy/observe")
        .whereLayer("backend").mayOnlyBeAccessedByLayers("cli", "proxy/observe", "route/schedule", "store")
        .whereLayer("config").mayOnlyBeAccessedByLayers("cli", "proxy/observe", "route/schedule", "backend",
            "store")
        .whereLayer("limit").mayOnlyBeAccessedByLayers("cli", "proxy/observe", "route/schedule", "backend",
            "config")
        .whereLayer("time").mayOnlyBeAccessedByLayers("cli", "proxy/observe", "route/schedule", "backend",
            "config", "limit", "sim", "store")
        .whereLayer("sim").mayOnlyBeAccessedByLayers("cli")
        .whereLayer("http").mayOnlyBeAccessedByLayers("cli", "proxy/observe")
        .whereLayer("store").mayOnlyBeAccessedByLayers("cli")
        .check(MAIN);
  }
}
