namespace SheafCore.Tests;
