namespace SheafCore;
